/**
 * The CLI as a function: `run(argv, io)` resolves to the exit code. Only main.ts touches `process`.
 */
import { Command, CommanderError } from "commander";
import { escapeTerminal } from "../report/escape.js";
import { isGuestOpsError } from "../shared/errors.js";
import { VERSION } from "../version.js";
import { commands } from "./commands/index.js";
import { EXIT, type ExitCode, type Io } from "./types.js";

export async function run(argv: readonly string[], io: Io): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.OK;
  const program = new Command("guestops")
    .description("Detect, attribute and audit VMware vSphere Guest Operations (ATT&CK T1675)")
    .version(VERSION, "-V, --version")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s.replace(/\n$/, "")),
      writeErr: (s) => io.stderr(escapeLines(s.replace(/\n$/, ""))),
      // commander's own usage errors are printed below, in the one error style
      outputError: () => undefined,
    });
  for (const command of commands) command.register(program, io, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; anything else is a usage error.
      if (error.exitCode === 0) return EXIT.OK;
      io.stderr(errorText(commanderUsage(error, argv, program)));
      return EXIT.ERROR;
    }
    if (isGuestOpsError(error)) {
      io.stderr(errorText(error));
      return EXIT.ERROR;
    }
    throw error; // a bug: main prints the stack and exits 2
  }
}

/** The one error style: `guestops: ERR_…: message`, then `  hint: …` (escaped). */
export const errorText = (error: { code: string; message: string; hint?: string | undefined }) =>
  escapeLines(
    `guestops: ${error.code}: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ""}`,
  );

/** A commander usage error in guestops' words, its hint naming the help of the command used. */
function commanderUsage(error: CommanderError, argv: readonly string[], program: Command) {
  const names = new Set(program.commands.map((c) => c.name()));
  const used = argv.find((a) => names.has(a));
  const sub = used !== undefined ? program.commands.find((c) => c.name() === used) : undefined;
  const nested = sub?.commands.length
    ? argv.find((a) => sub.commands.some((c) => c.name() === a))
    : undefined;
  const help = ["guestops", used, nested, "--help"].filter((x) => x !== undefined).join(" ");
  const message = error.message.replace(/^error: /, "").replace(/\n/g, " ");
  return {
    code: "ERR_USAGE",
    message,
    hint: `${help} lists the options; guestops help for topics.`,
  };
}

/**
 * Text for stderr: every line terminal-escaped as every other output is (an error message may
 * quote a path, a policy value or an argument, and `JSON.stringify` lets C1 controls such as
 * U+009B and bidi overrides such as U+202E through). The message's own line breaks are kept.
 */
export const escapeLines = (text: string): string =>
  text.split("\n").map(escapeTerminal).join("\n");
