#!/usr/bin/env node
// The `redex` executable: runs one command with the real process's I/O and exits with its code.
// Exiting explicitly matters for `serve`: after a graceful stop nothing may keep the process up.

import { processIo } from './io.js';
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), processIo());
process.exit(code);
