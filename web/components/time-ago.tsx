/** A `<time>` showing a relative time, with the exact time as a tooltip. */
import { dateTime, relativeTime } from '../format';

export function TimeAgo(props: { iso: string }) {
  return (
    <time dateTime={props.iso} title={dateTime(props.iso)}>
      {relativeTime(props.iso)}
    </time>
  );
}
