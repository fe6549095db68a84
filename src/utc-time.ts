// Seconds since the epoch as an ISO 8601 UTC time, by arithmetic. The frontend's startup snapshot
// cannot keep what V8 sets up for a process's first Date (its time zone), and that first Date
// cost ~25 ms of every build (of ~150 ms from process start to Return); these times are UTC
// and need none of it.

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** "2023-11-14T22:13:20Z" for 1700000000 (whole seconds; years 0-9999, as SOURCE_DATE_EPOCH gives). */
export function utcIso(seconds: number): string {
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const rest = s - days * 86400;
  // The civil date of a day number (days since 1970-01-01), in 400-year eras from 0000-03-01.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const time = `${pad(Math.floor(rest / 3600))}:${pad(Math.floor((rest % 3600) / 60))}:${pad(rest % 60)}`;
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${time}Z`;
}
