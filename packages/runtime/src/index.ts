/**
 * @troupe/runtime — channels (mpsc, broadcast, watch) with tokio's semantics; the actor
 * system, mailboxes and supervision build on them.
 *
 * @packageDocumentation
 */
export {
  BroadcastReceiver,
  BroadcastSender,
  broadcast,
} from './channel/broadcast.js';
export { type MpscOptions, mpsc, Receiver, Sender } from './channel/mpsc.js';
export type { OverflowPolicy } from './channel/overflow.js';
export type {
  Aborted,
  BroadcastRecvResult,
  BroadcastTryRecvResult,
  Closed,
  Dropped,
  Empty,
  Full,
  Lagged,
  Ok,
  Received,
  RecvAborted,
  RecvClosed,
  RecvResult,
  SendResult,
  TryRecvResult,
  TrySendResult,
  WaitOptions,
} from './channel/results.js';
export {
  type ChangedResult,
  WatchReceiver,
  WatchSender,
  type WatchSendResult,
  watch,
} from './channel/watch.js';
