// The chats, from an index in any of the platform's formats: the course's
// {"services": {"Group": [entries]}}, the 2025 starter's {"services": [{"Group": [entries]}, ...]}
// (its groups in weight order) and the 2024 starters' flat {"services": [entry, ...]}. An entry
// is {"name", "url"} with, in the starters', "users" (a comma-separated list: only those users
// see it) and "iframe".

const FLAT_GROUP = "Chats";

const isEntry = (value) => Boolean(value) && typeof value === "object" && typeof value.url === "string";

export function groupsOf(services) {
  const pairs = Array.isArray(services)
    ? services.flatMap((item) => (isEntry(item) ? [[FLAT_GROUP, [item]]]
      : item && typeof item === "object" ? Object.entries(item) : []))
    : services && typeof services === "object" ? Object.entries(services) : null;
  if (!pairs) throw new Error(`the index has no "services": it answered ${sample(services)}`);
  const groups = new Map(); // a group named twice (an annotation and a legacy file) is one
  for (const [title, entries] of pairs) {
    const kept = (Array.isArray(entries) ? entries : []).filter(isEntry);
    groups.set(title, [...(groups.get(title) || []), ...kept]);
  }
  return [...groups].map(([title, entries]) => ({ title, entries }));
}

// What an index answered, in one short line: for a format the page does not read
export function sample(value) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

export function visibleTo(entry, username) {
  if (typeof entry.users !== "string" || !entry.users.trim()) return true;
  return entry.users.split(",").map((user) => user.trim()).includes(username || "");
}
