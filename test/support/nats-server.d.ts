export interface NatsServer {
    readonly url: string;
    readonly port: number;
    /** SIGKILL, as a crash. */
    kill(): Promise<void>;
    /** Starts again on the same port (after kill or stop). */
    restart(): Promise<void>;
    stop(): Promise<void>;
}
/** The nats-server binary, or null (then tests skip, except in CI where they fail). */
export declare function natsServerBinary(): string | null;
/** Why cluster tests cannot run here, or null when they can. Throws in CI: there they must run. */
export declare function natsUnavailable(): string | null;
export interface NatsServerOptions {
    /** Extra configuration file text (accounts, authorization, limits). */
    readonly config?: string;
    readonly jetstream?: boolean;
}
export declare function startNatsServer(options?: NatsServerOptions): Promise<NatsServer>;
//# sourceMappingURL=nats-server.d.ts.map