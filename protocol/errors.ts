// Error codes carried in ResponseError.code: one list for the whole protocol, as the
// language-server protocol does, so the extension can tell "no model yet" from a bug.
export const ErrorCodes = {
  InvalidParams: -32602,
  NotInitialized: -32002,
  RequestCancelled: -32800,
  ModelUnavailable: -33001,
  StoreFailure: -33002,
  RecordingDisabled: -33003,
  NotImplemented: -33099,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
