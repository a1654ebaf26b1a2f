/**
 * A topic was asked to subscribe to itself. Every event it published would be delivered back to
 * it and published again, forever, so this is refused: by {@link Topic.subscribe} before
 * anything is sent, and by the topic itself for a raw `$topic.subscribe` message (an `unhandled`
 * dead letter, and a `TopicAck` with `error: 'self'`, on which `Topic.subscribe` rejects with
 * this error). A loop through other actors cannot be refused; the package README ("Loops")
 * says what bounds it.
 */
export class SelfSubscriptionError extends TypeError {
  override readonly name = 'SelfSubscriptionError';
  readonly code = 'TOPIC_SELF_SUBSCRIPTION';
  constructor(
    /** Path of the topic. */
    readonly topic: string,
  ) {
    super(
      `Topic.subscribe: topic ${topic} cannot subscribe to itself (every event would come back to it forever)`,
    );
  }
}
