#!/usr/bin/env node
// The `seqsch` command: runs the TypeScript CLI in place through tsx, so a checkout needs no build step.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli.ts');
