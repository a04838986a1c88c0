// Loaded with `node --import` into the Vite process of `npm run dev`: the Cloudflare Vite plugin
// builds its Miniflare options itself and offers no outbound setting, so its import of `miniflare`
// is pointed at scripts/dev-egress-miniflare.js, which adds the egress Worker (scripts/egress.js)
// to the app Worker's options. Everything else of Miniflare is passed through unchanged.
import { register } from 'node:module';

register('./dev-egress-loader.js', import.meta.url);
