/** The product's mark beside its name. */
/** Three nodes joined by one line, drawn to read at 20 px (a plain bar read as a minus sign). */
export function BrandMark() {
  return (
    <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true">
      <rect x="1" y="1" width="22" height="22" rx="6" class="brand-mark-tile" />
      <path d="M6.5 15.5 L12 8.5 L17.5 15.5" class="brand-mark-line" />
      <circle cx="6.5" cy="15.5" r="2.2" class="brand-mark-node" />
      <circle cx="12" cy="8.5" r="2.2" class="brand-mark-node" />
      <circle cx="17.5" cy="15.5" r="2.2" class="brand-mark-node" />
    </svg>
  );
}
