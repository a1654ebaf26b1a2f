/** What the cluster benchmarks' two nodes agree on: message types and registry keys. */
import { serviceKey } from '@troupe/cluster';
import type { ActorRef, Message } from '@troupe/runtime';

export type CounterMsg =
  | { type: 'start'; expect: number; replyTo: ActorRef<Message> }
  | { type: 'n'; n: number };
export type EchoMsg = { type: 'ping'; n: number; replyTo: ActorRef<{ type: 'pong'; n: number }> };
export const COUNTER = serviceKey<CounterMsg>('bench-counter');
export const ECHO = serviceKey<EchoMsg>('bench-echo');
export const SLOW = serviceKey<{ type: 'n'; n: number }>('bench-slow');
