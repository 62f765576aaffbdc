/**
 * The child process of crash-safety.test.ts: streams chats into a real database file as fast as it can, the way the
 * server saves a streaming answer (add an incomplete message, append to it, complete it), and prints one line per
 * committed write. stdout to a pipe is synchronous on POSIX, so a printed line means the commit returned first.
 * Lines: `message <id>`, `append <id> <content length>`, `complete <id>`.
 */
import { ChatsRepository } from '../../../main/store/chats-repo.ts';
import { openDatabase } from '../../../main/store/database.ts';

const db = openDatabase(process.argv[2]);
const chats = new ChatsRepository(db);
const say = (line: string) => process.stdout.write(`${line}\n`);

say('ready');
for (let turn = 0; ; turn++) {
  const c = chats.create({ title: `crash ${turn}` });
  const user = chats.addMessage(c.id, { parentId: null, role: 'user', content: `question ${turn}` });
  say(`message ${user.id}`);
  const answer = chats.addMessage(c.id, { parentId: user.id, role: 'assistant', complete: false });
  say(`message ${answer.id}`);
  let length = 0;
  for (let i = 0; i < 20; i++) {
    const piece = `token${i} `;
    length = chats.updateMessage(answer.id, { append: piece, metadata: { tokens: i + 1 } }).content.length;
    say(`append ${answer.id} ${length}`);
  }
  chats.updateMessage(answer.id, { complete: true, metadata: { finishReason: 'stop' } });
  say(`complete ${answer.id}`);
}
