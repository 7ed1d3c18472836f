/** A partition's batch in chunks of at most `size` messages, in offset order (STAGE_BATCH_MAX_RECORDS). */
export function chunksOf<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/**
 * Indexes of the messages split into at most `fanout` groups with no key in two groups (keys dealt
 * out in order of first appearance), each group in offset order. One key: one group.
 */
export function groupsByKey(messages: { key: string | null }[], fanout: number): number[][] {
  const groupOfKey = new Map<string | null, number>();
  const groups: number[][] = [];
  messages.forEach((message, index) => {
    let group = groupOfKey.get(message.key);
    if (group === undefined) {
      group = groupOfKey.size % fanout;
      groupOfKey.set(message.key, group);
    }
    (groups[group] ??= []).push(index);
  });
  return groups;
}
