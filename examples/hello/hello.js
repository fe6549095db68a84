const os = require("os");
console.log(`${process.env.GREETING}: running as uid ${process.getuid()} in ${process.cwd()} on ${os.arch()}`);
