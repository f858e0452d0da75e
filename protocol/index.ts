// The JSON-RPC contract between the extension (src/) and the trainer process (server/),
// one file per area (area/verb method names). Both sides import only this module, so a
// renamed method or a changed payload is a compile error, not a silent drop.
export * from './errors';
export * as lifecycle from './lifecycle';
export * as model from './model';
export * as serve from './serve';
export * as download from './download';
export * as episodes from './episodes';
export * as learn from './learn';
export * as webview from './webview';
