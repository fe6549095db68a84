import { generateInstallChannel } from "/work/main/bench/install-channel";
const v = process.argv[2] ?? "1.0";
await generateInstallChannel("/work/main/.e2e/bench-install-channel", 150, (i) => (i === 77 ? v : "1.0"));
