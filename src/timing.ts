// Marks on the way from process start to Return, reported when CONDA_FRONTEND_TIMING is set
// (see bench/run.ts). performance.now() counts from process start.
const marks: [string, number][] = [];

export function mark(name: string): void {
  marks.push([name, performance.now()]);
}

export function timingReport(): string {
  return marks.map(([n, t]) => `${n}=${t.toFixed(1)}`).join(" ");
}
