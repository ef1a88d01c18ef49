/**
 * `guestops help [TOPIC]`: a command's help (`guestops help scan`), a page of the documentation
 * shipped with the package (`guestops help output`, `guestops help policy`), or the list of both.
 */
import { GuestOpsError } from "../../shared/errors.js";
import { docTopics, readTopic } from "../docs.js";
import { defineCommand, EXIT } from "../types.js";

export const helpCommand = defineCommand({
  name: "help",
  register(program, io, done) {
    program.helpCommand(false);
    program
      .command("help")
      .description("Show a command's help or a documentation topic (guestops help output)")
      .argument("[topic]", "a command (scan, events, ...) or a topic (output, policy, rules, ...)")
      .action((topic: string | undefined) => {
        if (topic === undefined) {
          io.stdout(
            `${program.helpInformation().trimEnd()}\n\nTopics (guestops help TOPIC): ${[...docTopics().keys()].join(", ")}`,
          );
          return done(EXIT.OK);
        }
        const command = program.commands.find((c) => c.name() === topic.toLowerCase());
        if (command !== undefined && command.name() !== "help") {
          io.stdout(command.helpInformation().trimEnd());
          return done(EXIT.OK);
        }
        const text = readTopic(topic);
        if (text === undefined) {
          throw new GuestOpsError("ERR_USAGE", `no help topic ${JSON.stringify(topic)}`, {
            hint: `Topics: ${[...docTopics().keys()].join(", ")}; commands: ${program.commands.map((c) => c.name()).join(", ")}.`,
          });
        }
        io.stdout(text.trimEnd());
        return done(EXIT.OK);
      });
  },
});
