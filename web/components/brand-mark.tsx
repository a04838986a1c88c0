/** The product's mark beside its name. */
/** Three nodes joined by one line, drawn to read at 20 px (a plain bar read as a minus sign). */
export function BrandMark() {
  return (
    <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
      <rect x="1" y="1" width="22" height="22" rx="6" class="brand-mark-tile" />
      <path d="M6 16.8 L12 7.2 L18 16.8" class="brand-mark-line" />
      <circle cx="6" cy="16.8" r="2.3" class="brand-mark-node" />
      <circle cx="12" cy="7.2" r="2.3" class="brand-mark-node" />
      <circle cx="18" cy="16.8" r="2.3" class="brand-mark-node" />
    </svg>
  );
}
