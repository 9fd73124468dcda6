const numberFormat = new Intl.NumberFormat('en');
const timeFormat = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' });

export const formatCount = (value: number): string => numberFormat.format(value);

export const formatTime = (value: string | null | undefined): string => (value ? timeFormat.format(new Date(value)) : '—');

export function formatDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** `datetime-local` input value (local time, no zone) to an ISO instant, or undefined when empty. */
export const fromLocalInput = (value: string): string | undefined => (value ? new Date(value).toISOString() : undefined);
