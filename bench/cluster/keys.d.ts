import type { ActorRef, Message } from '@troupe/runtime';
export type CounterMsg =
  | {
      type: 'start';
      expect: number;
      replyTo: ActorRef<Message>;
    }
  | {
      type: 'n';
      n: number;
    };
export type EchoMsg = {
  type: 'ping';
  n: number;
  replyTo: ActorRef<{
    type: 'pong';
    n: number;
  }>;
};
export declare const COUNTER: import('@troupe/cluster').ServiceKey<CounterMsg>;
export declare const ECHO: import('@troupe/cluster').ServiceKey<EchoMsg>;
export declare const SLOW: import('@troupe/cluster').ServiceKey<{
  type: 'n';
  n: number;
}>;
//# sourceMappingURL=keys.d.ts.map
