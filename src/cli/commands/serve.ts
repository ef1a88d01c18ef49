/**
 * `guestops serve --config FILE [--db FILE]`: receives syslog (UDP, TCP, TLS), spools every frame
 * durably, detects live and serves the dashboard and API (docs/serve.md). Prints one line per
 * bound listener and the dashboard's address, then runs until SIGINT or SIGTERM (exit 0); SIGHUP,
 * or a change of the configuration or policy file, reloads them (docs/serve.md). Exit 2
 * for an invalid configuration, a port that cannot be bound or a store that cannot be opened.
 *
 * `guestops serve --add-token NAME --role viewer|analyst` prints a new API token (stored hashed);
 * `--revoke-token NAME` revokes one; `--list-tokens` lists them.
 */
import { resolve } from "node:path";
import { escapeTerminal } from "../../report/escape.js";
import { GuestOpsError } from "../../shared/errors.js";
import { addStoreOption, type StoreCliOptions } from "../store-option.js";
import { defineCommand, EXIT, type ExitCode, type Io } from "../types.js";

export interface ServeCliOptions extends StoreCliOptions {
  readonly config?: string;
  readonly addToken?: string;
  readonly role?: string;
  readonly revokeToken?: string;
  readonly listTokens?: boolean;
}

export const serveCommand = defineCommand({
  name: "serve",
  register(program, io, done) {
    addStoreOption(
      program.command("serve"),
      "the store for the spool, alerts and tokens (default: the configuration's store, else GUESTOPS_DB, else the user's store)",
    )
      .description("Receive syslog live, detect as it arrives, serve the dashboard and API")
      .option("--config <file>", "the serve configuration (YAML, docs/serve.md)")
      .option("--add-token <name>", "create an API token with --role and print it")
      .option("--role <role>", "role of the new token: viewer or analyst", "viewer")
      .option("--revoke-token <name>", "revoke an API token")
      .option("--list-tokens", "list the API tokens (names and roles, never the tokens)")
      .action(async (options: ServeCliOptions) => {
        done(await serveCli(options, io));
      });
  },
});

export async function serveCli(options: ServeCliOptions, io: Io): Promise<ExitCode> {
  const [{ loadServeConfig }, store] = await Promise.all([
    import("../../serve/config.js"),
    import("../../store/index.js"),
  ]);
  const config =
    options.config !== undefined ? loadServeConfig(resolve(io.cwd, options.config)) : undefined;
  const dbPath = options.db ?? config?.store ?? store.defaultDbPath(io.env);
  if (options.addToken !== undefined || options.revokeToken !== undefined || options.listTokens) {
    const access = await import("../../serve/access.js");
    const opened = store.openStore(dbPath, { cwd: io.cwd });
    try {
      if (options.addToken !== undefined) {
        if (options.role !== "viewer" && options.role !== "analyst") {
          throw new GuestOpsError("ERR_USAGE", "--role must be viewer or analyst");
        }
        io.stdout(access.addToken(opened.db, options.addToken, options.role));
      } else if (options.revokeToken !== undefined) {
        if (!access.revokeToken(opened.db, options.revokeToken)) {
          throw new GuestOpsError(
            "ERR_USAGE",
            `no active token named ${JSON.stringify(options.revokeToken)}`,
          );
        }
        io.stdout(`revoked ${escapeTerminal(options.revokeToken)}`);
      } else {
        for (const t of access.listTokens(opened.db)) {
          io.stdout(
            `${escapeTerminal(t.name)}\t${t.role}\t${new Date(t.createdMs).toISOString()}${t.revokedMs !== null ? `\trevoked ${new Date(t.revokedMs).toISOString()}` : ""}`,
          );
        }
      }
    } finally {
      opened.close();
    }
    return EXIT.OK;
  }
  if (config === undefined) {
    throw new GuestOpsError("ERR_USAGE", "guestops serve needs --config FILE", {
      hint: "See docs/serve.md for an example configuration.",
    });
  }
  const { startServe } = await import("../../serve/server.js");
  // SIGHUP reloads the configuration and the policy (a bad file keeps what runs); one that comes
  // while serve starts is served once it has started, rather than ending the process
  const sighup: { reload?: () => void; early: boolean } = { early: false };
  const hup = (): void => (sighup.reload ? sighup.reload() : void (sighup.early = true));
  process.on("SIGHUP", hup);
  const running = await startServe(
    options.db !== undefined ? { ...config, store: undefined } : config,
    {
      dbPath,
      env: io.env,
      cwd: io.cwd,
      configFile: resolve(io.cwd, options.config ?? ""),
      ignoreStore: options.db !== undefined,
      log: (line) => io.stderr(line),
    },
  ).catch((error: unknown) => {
    process.off("SIGHUP", hup);
    throw error;
  });
  sighup.reload = () => void running.reload("sighup");
  if (sighup.early) sighup.reload();
  io.stdout(`store: ${escapeTerminal(running.store.file)}`);
  for (const l of running.listeners) {
    io.stdout(`listening: ${l.name} ${l.protocol} ${l.address} ${l.port}`);
  }
  if (running.httpPort !== undefined) {
    const scheme = config.http.cert !== undefined ? "https" : "http";
    const host = config.http.address.includes(":")
      ? `[${config.http.address}]`
      : config.http.address;
    io.stdout(`dashboard: ${scheme}://${host}:${running.httpPort}/`);
  }
  io.stdout("ready");
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.off("SIGHUP", hup);
      resolveStop();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await running.close();
  io.stdout("stopped");
  return EXIT.OK;
}
