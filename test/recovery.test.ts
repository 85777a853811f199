import {
  estimatedRtoMinutes,
  longestGapMinutes,
  parseCron,
  postgresDurationToMinutes,
  quantityToGiB,
  retentionToDays,
  worstCaseRpoMinutes,
} from "../components/recovery";

const gap = (...exprs: string[]) => longestGapMinutes(exprs.map((e) => parseCron(e)));

describe("cron schedules to intervals", () => {
  test.each([
    ["*/15 * * * *", 15],
    ["0 * * * *", 60],
    ["0 2 * * *", 1440],
    ["@daily", 1440],
    ["0 0 * * 0", 10080],
    ["0 3 * * SUN", 10080],
    ["0 0 * * 1-5", 3 * 1440], // Friday to Monday
    ["30 1,13 * * *", 720],
    ["0 0 1 * *", 31 * 1440],
    ["0 0 29 2 *", 4 * 365 * 1440 + 1440], // only on leap days
  ])("%s: longest gap %d min", (expr, minutes) => {
    expect(gap(expr)).toBe(minutes);
  });

  test("several schedules together: the longest gap of their union", () => {
    expect(gap("0 2 * * *", "0 14 * * *")).toBe(720);
  });

  test("day-of-month and day-of-week both restricted fire on either (cron's OR)", () => {
    // The 1st of the month or any Monday: never more than 7 days apart.
    expect(gap("0 0 1 * 1")).toBeLessThanOrEqual(7 * 1440);
  });

  test("day of week 7 is Sunday, as 0 is", () => {
    expect(parseCron("0 0 * * 7").daysOfWeek).toEqual(new Set([0]));
    expect(gap("0 0 * * 7")).toBe(10080);
  });

  test("CloudNativePG's 6-field form with seconds", () => {
    expect(longestGapMinutes([parseCron("0 0 3 * * 0", true)])).toBe(10080);
  });

  test.each([
    ["0 3 * * SUN", true, /has 5 fields; expected 6 \(second minute hour/],
    ["0 0 3 * * 0", false, /has 6 fields; expected 5/],
    ["61 * * * *", false, /"61 \* \* \* \*" is not valid.*got value 61 expected range 0-59/],
    ["0 25 * * *", false, /got value 25 expected range 0-23/],
    ["0 0 * * FUNDAY", false, /cannot resolve alias "fun"/],
    ["*/0 * * * *", false, /cannot repeat at every 0 time/],
    ["0 0 10-2 * *", false, /Invalid range: 10-2/],
    ["0 0 L * *", false, /uses L, W or #, which Kubernetes CronJobs do not support/],
    ["0 0 * * 1#2", false, /uses L, W or #/],
  ])("a bad cron %s is refused with what is wrong", (expr, seconds, message) => {
    expect(() => parseCron(expr, seconds)).toThrow(message);
  });
});

describe("RPO and RTO", () => {
  test("continuous archiving bounds the RPO, whatever the backups", () => {
    expect(worstCaseRpoMinutes({ continuousArchiveMinutes: 5, backupSchedules: [parseCron("0 0 * * 0")] })).toBe(5);
  });

  test("a daily backup alone misses a 1-hour RPO", () => {
    expect(worstCaseRpoMinutes({ backupSchedules: [parseCron("0 2 * * *")] })).toBe(1440);
  });

  test("no protection at all: unbounded", () => {
    expect(worstCaseRpoMinutes({})).toBe(Infinity);
  });

  test("RTO: a standby's promotion time, else restore time at the throughput plus overhead", () => {
    expect(estimatedRtoMinutes({ standbyPromotionMinutes: 15, datasetSizeGiB: 5000, restoreThroughputMiBPerSecond: 100 })).toBe(15);
    // 500 GiB at 100 MiB/s = 5120 s = 86 min (rounded up), + 30 min overhead.
    expect(estimatedRtoMinutes({ datasetSizeGiB: 500, restoreThroughputMiBPerSecond: 100 })).toBe(116);
  });
});

describe("unit parsing", () => {
  test.each([
    ["500Gi", 500],
    ["1Ti", 1024],
    ["512Mi", 0.5],
  ])("quantity %s = %d GiB", (q, gib) => expect(quantityToGiB(q)).toBe(gib));
  test("durations and retentions", () => {
    expect(postgresDurationToMinutes("5min")).toBe(5);
    expect(postgresDurationToMinutes("300s")).toBe(5);
    expect(postgresDurationToMinutes("300")).toBe(5);
    expect(retentionToDays("30d")).toBe(30);
    expect(retentionToDays("4w")).toBe(28);
    expect(() => retentionToDays("30 days")).toThrow(/not a retention/);
  });
});
