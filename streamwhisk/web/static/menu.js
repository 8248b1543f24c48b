// The chats, from an index in either of the platform's formats: the course's
// {"services": {"Group": [entries]}} and the starter's {"services": [{"Group": [entries]}, ...]}
// (its groups in weight order). An entry is {"name", "url"} with, in the starter's, "users" (a
// comma-separated list: only those users see it) and "iframe".

export function groupsOf(services) {
  const pairs = Array.isArray(services)
    ? services.flatMap((group) => (group && typeof group === "object" ? Object.entries(group) : []))
    : services && typeof services === "object" ? Object.entries(services) : null;
  if (!pairs) throw new Error("the index has no services");
  const groups = new Map(); // a group named twice (an annotation and a legacy file) is one
  for (const [title, entries] of pairs) {
    const kept = (Array.isArray(entries) ? entries : []).filter((e) => e && typeof e.url === "string");
    groups.set(title, [...(groups.get(title) || []), ...kept]);
  }
  return [...groups].map(([title, entries]) => ({ title, entries }));
}

export function visibleTo(entry, username) {
  if (typeof entry.users !== "string" || !entry.users.trim()) return true;
  return entry.users.split(",").map((user) => user.trim()).includes(username || "");
}
