// Module resolution hook (see dev-egress.js): `miniflare`, imported from anywhere but the wrapper
// itself, resolves to the wrapper.
const WRAPPER = new URL('./dev-egress-miniflare.js', import.meta.url).href;

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'miniflare' && context.parentURL !== WRAPPER) return { url: WRAPPER, shortCircuit: true };
  return nextResolve(specifier, context);
}
