/**
 * `guestops completion bash|zsh`: a completion script built from the commands and options
 * themselves (so it never goes stale): `eval "$(guestops completion bash)"` in ~/.bashrc, or
 * `guestops completion zsh > "${fpath[1]}/_guestops"`.
 */
import type { Command } from "commander";
import { GuestOpsError } from "../../shared/errors.js";
import { defineCommand, EXIT } from "../types.js";

interface Spec {
  readonly name: string;
  readonly options: readonly string[];
  /** Option → its choices (`--format` → table ndjson ...). */
  readonly choices: ReadonlyMap<string, readonly string[]>;
  readonly subcommands: readonly string[];
}

function specOf(command: Command): Spec {
  const options: string[] = [];
  const choices = new Map<string, readonly string[]>();
  for (const o of command.options) {
    if (o.hidden) continue;
    if (o.long) options.push(o.long);
    if (o.short) options.push(o.short);
    if (o.argChoices?.length) {
      for (const flag of [o.long, o.short]) if (flag) choices.set(flag, o.argChoices);
    }
  }
  options.push("--help");
  return {
    name: command.name(),
    options,
    choices,
    subcommands: command.commands.map((c) => c.name()),
  };
}

const FILE_OPTIONS = ["--out", "-o", "--policy", "--db", "--input-host"];

export function bashCompletion(program: Command): string {
  const specs = program.commands.map(specOf);
  const cases = specs
    .map((s) => {
      const choiceCases = [...s.choices]
        .map(
          ([flag, list]) =>
            `        ${flag}) COMPREPLY=($(compgen -W "${list.join(" ")}" -- "$cur")); return ;;`,
        )
        .join("\n");
      return `    ${s.name})
      case "$prev" in
${choiceCases}
        ${FILE_OPTIONS.join("|")}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
      esac
      if [[ "$cur" == -* ]]; then
        COMPREPLY=($(compgen -W "${s.options.join(" ")}" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "${s.subcommands.join(" ")}" -f -- "$cur"))
      fi ;;`;
    })
    .join("\n");
  return `# bash completion for guestops: eval "$(guestops completion bash)"
_guestops() {
  local cur prev cmd i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  case "$cmd" in
    "")
      COMPREPLY=($(compgen -W "${specs.map((s) => s.name).join(" ")} --help --version" -- "$cur")) ;;
${cases}
  esac
}
complete -o filenames -F _guestops guestops`;
}

export function zshCompletion(program: Command): string {
  const specs = program.commands.map(specOf);
  const cases = specs
    .map((s) => {
      const args = s.options.map((flag) => {
        const list = s.choices.get(flag);
        if (list) return `'${flag}[]:value:(${list.join(" ")})'`;
        if (FILE_OPTIONS.includes(flag)) return `'${flag}[]:file:_files'`;
        return `'${flag}[]'`;
      });
      const rest = s.subcommands.length
        ? `'1:command:(${s.subcommands.join(" ")})'`
        : "'*:path:_files'";
      return `    ${s.name}) _arguments ${[...args, rest].join(" ")} ;;`;
    })
    .join("\n");
  return `#compdef guestops
# zsh completion for guestops: guestops completion zsh > "\${fpath[1]}/_guestops"
_guestops() {
  if (( CURRENT == 2 )); then
    compadd ${specs.map((s) => s.name).join(" ")}
    return
  fi
  case "\${words[2]}" in
${cases}
  esac
}
compdef _guestops guestops 2>/dev/null || true`;
}

export const completionCommand = defineCommand({
  name: "completion",
  register(program, io, done) {
    program
      .command("completion")
      .description("Print a shell completion script (bash or zsh)")
      .argument("<shell>", "bash or zsh")
      .action((shell: string) => {
        const name = shell.toLowerCase();
        if (name !== "bash" && name !== "zsh") {
          throw new GuestOpsError("ERR_USAGE", `no completion for shell ${JSON.stringify(shell)}`, {
            hint: "guestops completion bash, or guestops completion zsh.",
          });
        }
        io.stdout(name === "bash" ? bashCompletion(program) : zshCompletion(program));
        done(EXIT.OK);
      });
  },
});
