// utcIso against Date's own UTC formatting (the test may use Date: only the frontend must not).
import { describe, expect, it } from "vitest";
import { utcIso } from "../src/utc-time";

const viaDate = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

describe("utcIso", () => {
  it("formats known times", () => {
    expect(utcIso(0)).toBe("1970-01-01T00:00:00Z");
    expect(utcIso(1700000000)).toBe("2023-11-14T22:13:20Z");
    expect(utcIso(951782400)).toBe("2000-02-29T00:00:00Z"); // a leap day of a year divisible by 400
    expect(utcIso(4107456000)).toBe("2100-02-28T00:00:00Z");
  });

  it("agrees with Date for days around every month end, leap years and 2100 included, and 20,000 other times up to year 9999", () => {
    const times: number[] = [];
    for (let day = 0; day < 366 * 140; day += 1) if (day % 28 < 2 || day % 31 < 2) times.push(day * 86400 + ((day * 7919) % 86400));
    let x = 12345;
    for (let i = 0; i < 20000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      times.push(Math.floor((x / 2 ** 31) * 253402300799));
    }
    for (const t of times) expect(utcIso(t), String(t)).toBe(viaDate(t));
  });
});
