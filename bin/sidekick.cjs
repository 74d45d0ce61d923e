#!/usr/bin/env node
// npm bin shim: runs the TypeScript CLI through tsx's require hook.
// Local tooling may run on Node 20; the SDK's Node 22 notice is noise on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('./sidekick.ts');
