// The playground page: renders the emulated chats and acts as the people in them.
// Everything goes through /play/* (the emulator's people's side); no build step.
"use strict";

// offered: force-reply prompts already turned into a reply target (each once).
const state = { snapshot: null, persona: {}, reply: {}, topic: null, seen: {}, offered: new Set() };
const panes = {
  customer: document.getElementById("customer"),
  group: document.getElementById("group"),
  manager: document.getElementById("manager"),
};

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Telegram's entities to HTML; offsets are UTF-16 units, as are JavaScript's string indices.
function renderEntities(text, entities) {
  const sorted = (entities || []).slice().sort((a, b) => a.offset - b.offset || b.length - a.length);
  function render(start, end, list) {
    let out = "";
    let at = start;
    let i = 0;
    while (i < list.length) {
      const e = list[i];
      if (e.offset < at) { i++; continue; }
      const stop = e.offset + e.length;
      const inner = [];
      let j = i + 1;
      while (j < list.length && list[j].offset < stop) { inner.push(list[j]); j++; }
      out += escapeHtml(text.slice(at, e.offset));
      out += wrap(e, render(e.offset, Math.min(stop, end), inner), text.slice(e.offset, stop));
      at = stop;
      i = j;
    }
    return out + escapeHtml(text.slice(at, end));
  }
  return render(0, text.length, sorted);
}

function wrap(e, inner, raw) {
  switch (e.type) {
    case "bold": return `<b>${inner}</b>`;
    case "italic": return `<i>${inner}</i>`;
    case "underline": return `<u>${inner}</u>`;
    case "strikethrough": return `<s>${inner}</s>`;
    case "spoiler": return `<span class="spoiler">${inner}</span>`;
    case "code": return `<code>${inner}</code>`;
    case "pre": return `<pre>${inner}</pre>`;
    case "text_link": return `<a href="${escapeHtml(e.url)}" target="_blank" rel="noopener">${inner}</a>`;
    case "url": return `<a href="${escapeHtml(raw)}" target="_blank" rel="noopener">${inner}</a>`;
    case "blockquote": return `<blockquote>${inner}</blockquote>`;
    case "expandable_blockquote": return `<blockquote class="expandable">${inner}</blockquote>`;
    default: return inner;
  }
}

function personaById(id) {
  return state.snapshot.cast.personas.find((p) => p.user_id === id);
}

function serviceText(d) {
  if (d.new_chat_members) return `${d.new_chat_members.map((u) => u.first_name).join(", ")} joined the group`;
  if (d.left_chat_member) return `${d.left_chat_member.first_name} left the group`;
  if (d.forum_topic_created) return `Topic created: ${d.forum_topic_created.name}`;
  if (d.forum_topic_edited) return `Topic renamed: ${d.forum_topic_edited.name || ""}`;
  if (d.forum_topic_closed) return "Topic closed";
  if (d.forum_topic_reopened) return "Topic reopened";
  if (d.pinned_message) return "Message pinned";
  return null;
}

function snippet(d) {
  if (d.text) return d.text.slice(0, 80);
  if (d.caption) return d.caption.slice(0, 80);
  if (d.photo) return "Photo";
  if (d.document) return d.document.file_name || "File";
  return "Message";
}

function senderName(d) {
  const from = d.from || {};
  return [from.first_name, from.last_name].filter(Boolean).join(" ");
}

// Consecutive photos of one media group are one bubble, as in Telegram.
function groupAlbums(messages) {
  const out = [];
  for (const m of messages) {
    const last = out[out.length - 1];
    const group = m.data.media_group_id;
    if (group && last && last[0].data.media_group_id === group) last.push(m);
    else out.push([m]);
  }
  return out;
}

function renderBubble(paneName, chatId, items, me) {
  const first = items[0];
  const d = first.data;
  const service = serviceText(d);
  const el = document.createElement("div");
  el.dataset.messageId = first.message_id;
  if (service) {
    el.className = "service";
    el.textContent = service;
    return el;
  }
  const mine = d.from && d.from.id === me;
  el.className = "msg" + (mine ? " out" : "") + (first.from_bot ? " from-bot" : "");
  let html = "";
  if (!mine && paneName === "group") html += `<div class="who">${escapeHtml(senderName(d))}</div>`;
  if (d.reply_to_message) {
    const r = d.reply_to_message;
    html += `<div class="quote" data-goto="${r.message_id}"><b>${escapeHtml(senderName(r))}</b><br>${escapeHtml(snippet(r))}</div>`;
  }
  const photos = items.filter((m) => m.data.photo);
  if (photos.length) {
    html += `<div class="photos${photos.length === 1 ? " single" : ""}">`;
    for (const m of photos) {
      const sizes = m.data.photo;
      html += `<img alt="photo" src="/play/files/${encodeURIComponent(sizes[sizes.length - 1].file_id)}">`;
    }
    html += "</div>";
  }
  for (const m of items) {
    if (m.data.document) {
      const doc = m.data.document;
      html += `<a class="doc" href="/play/files/${encodeURIComponent(doc.file_id)}" target="_blank">📄 ${escapeHtml(doc.file_name || "file")}</a>`;
    }
  }
  const textOwner = items.find((m) => m.data.text || m.data.caption) || first;
  const td = textOwner.data;
  if (td.text !== undefined) html += `<div class="body">${renderEntities(td.text, td.entities)}</div>`;
  else if (td.caption) html += `<div class="body">${renderEntities(td.caption, td.caption_entities)}</div>`;
  else if (!photos.length && !d.document) html += `<div class="body"><i>${escapeHtml(Object.keys(d).filter((k) => !["message_id", "from", "chat", "date", "message_thread_id", "is_topic_message"].includes(k)).join(", "))}</i></div>`;
  const markup = items.map((m) => m.data.reply_markup).find(Boolean);
  if (markup && markup.inline_keyboard) {
    html += '<div class="keyboard">';
    for (const row of markup.inline_keyboard) {
      html += '<div class="kb-row">';
      for (const b of row) {
        if (b.callback_data !== undefined) {
          html += `<button type="button" data-press="${escapeHtml(b.callback_data)}" data-message="${items.find((m) => m.data.reply_markup).message_id}">${escapeHtml(b.text)}</button>`;
        } else if (b.url) {
          html += `<a href="${escapeHtml(b.url)}" target="_blank" rel="noopener">${escapeHtml(b.text)} ↗</a>`;
        } else {
          html += `<button type="button" disabled>${escapeHtml(b.text)}</button>`;
        }
      }
      html += "</div>";
    }
    html += "</div>";
  }
  const time = new Date(d.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
  const edited = items.some((m) => m.edited) ? "edited " : "";
  html += `<div class="meta"><span class="reply-link" data-reply="${first.message_id}">reply</span>${edited}${time}</div>`;
  el.innerHTML = html;
  return el;
}

// A selective ForceReply is for the people the message mentions or replies to.
function forMe(message, me) {
  if (!message.force_reply.selective) return true;
  const d = message.data;
  if (d.reply_to_message && d.reply_to_message.from && d.reply_to_message.from.id === me) return true;
  const entities = d.entities || d.caption_entities || [];
  return entities.some((e) => e.type === "text_mention" && e.user && e.user.id === me) ||
    entities.some((e) => e.type === "text_link" && e.url === `tg://user?id=${me}`);
}

function currentPersona(paneName) {
  return state.persona[paneName];
}

function chatOf(paneName) {
  return paneName === "group" ? state.snapshot.cast.group_id : currentPersona(paneName);
}

function visibleMessages(paneName) {
  const snap = state.snapshot;
  const all = snap.chats[String(chatOf(paneName))] || [];
  if (paneName !== "group" || !snap.cast.forum) return all;
  return all.filter((m) => (m.thread_id || null) === state.topic);
}

function renderPane(paneName) {
  const pane = panes[paneName];
  const box = pane.querySelector(".messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const me = currentPersona(paneName);
  const messages = visibleMessages(paneName);
  box.replaceChildren(...groupAlbums(messages).map((items) => renderBubble(paneName, chatOf(paneName), items, me)));
  const key = `${paneName}:${chatOf(paneName)}:${state.topic}`;
  const newest = messages.length ? messages[messages.length - 1].message_id : 0;
  if (nearBottom || state.seen[key] !== newest) box.scrollTop = box.scrollHeight;
  // A force-reply prompt addressed to this chat becomes the reply target, as in the apps.
  const prompt = messages.slice().reverse().find((m) => m.from_bot);
  const offer = `${chatOf(paneName)}:${prompt ? prompt.message_id : 0}:${me}`;
  if (prompt && prompt.force_reply && !state.offered.has(offer) && forMe(prompt, me)) {
    state.offered.add(offer);
    setReply(paneName, prompt.message_id, prompt.data);
    const hint = prompt.force_reply.input_field_placeholder;
    if (hint) pane.querySelector(".composer .text").placeholder = hint;
  }
  state.seen[key] = newest;
  const start = pane.querySelector(".start");
  if (start) {
    const persona = personaById(me);
    start.hidden = !persona || state.snapshot.started.includes(me);
  }
  const note = pane.querySelector(".note");
  if (note) note.textContent = (personaById(me) || {}).note || "";
}

function renderTopics() {
  const snap = state.snapshot;
  const pane = panes.group;
  const box = pane.querySelector(".topics");
  box.hidden = !snap.cast.forum;
  if (!snap.cast.forum) { state.topic = null; return; }
  const buttons = [{ message_thread_id: null, name: "General" }, ...snap.topics].map((t) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = t.name + (t.closed ? " 🔒" : "");
    b.className = (t.message_thread_id || null) === state.topic ? "current" : "";
    b.addEventListener("click", () => { state.topic = t.message_thread_id || null; clearReply("group"); renderAll(); });
    return b;
  });
  box.replaceChildren(...buttons);
}

function renderHeader() {
  const snap = state.snapshot;
  const banner = document.getElementById("violations");
  if (snap.violations.length) {
    banner.hidden = false;
    banner.innerHTML = `<b>The bot broke the Bot API's rules ${snap.violations.length} time(s):</b><br>` +
      snap.violations.map((v) => escapeHtml(v)).join("<br>");
  } else {
    banner.hidden = true;
  }
  const clock = document.getElementById("clock");
  if (snap.clock) {
    clock.hidden = false;
    const now = new Date(snap.clock.now);
    document.getElementById("clock-now").textContent = now.toLocaleString([], {
      timeZone: snap.clock.timezone, weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false,
    }) + (snap.clock.offset_seconds ? ` (+${Math.round(snap.clock.offset_seconds / 3600)} h)` : "");
  }
  const forum = panes.group.querySelector(".forum-switch");
  forum.hidden = !snap.cast.forum_switch;
  forum.querySelector("input").checked = snap.cast.forum;
  panes.group.querySelector(".group-title").textContent = snap.cast.group_title;
}

function renderAll() {
  renderHeader();
  renderTopics();
  for (const name of Object.keys(panes)) renderPane(name);
}

function fillPersonas() {
  const roles = { customer: "customer", group: "agent", manager: "manager" };
  for (const [paneName, role] of Object.entries(roles)) {
    const select = panes[paneName].querySelector(".persona");
    const people = state.snapshot.cast.personas.filter((p) => p.role === role);
    select.replaceChildren(...people.map((p) => {
      const option = document.createElement("option");
      option.value = p.user_id;
      option.textContent = `${p.name} (${p.language})`;
      return option;
    }));
    state.persona[paneName] = people.length ? people[0].user_id : null;
    select.addEventListener("change", () => {
      state.persona[paneName] = Number(select.value);
      clearReply(paneName);
      renderAll();
    });
  }
}

function setReply(paneName, messageId, data) {
  state.reply[paneName] = messageId;
  const box = panes[paneName].querySelector(".replying");
  box.hidden = false;
  box.querySelector("span").textContent = `Reply to ${senderName(data)}: ${snippet(data)}`;
}

function clearReply(paneName) {
  state.reply[paneName] = null;
  panes[paneName].querySelector(".composer .text").placeholder = "Message";
  panes[paneName].querySelector(".replying").hidden = true;
}

async function post(url, body) {
  const options = body instanceof FormData
    ? { method: "POST", body }
    : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const response = await fetch(url, options);
  const text = await response.text();
  let data = {};
  try { data = JSON.parse(text); } catch (e) { data = { error: text }; }
  if (!response.ok) throw new Error(data.error || text || response.statusText);
  return data;
}

function showError(paneName, error) {
  const form = panes[paneName].querySelector(".composer");
  let line = form.querySelector(".error");
  if (!line) { line = document.createElement("div"); line.className = "error"; form.prepend(line); }
  line.textContent = String(error.message || error);
  setTimeout(() => line.remove(), 5000);
}

function target(paneName) {
  const body = { user_id: currentPersona(paneName), chat_id: chatOf(paneName) };
  if (paneName === "group" && state.topic) body.thread_id = state.topic;
  if (state.reply[paneName]) body.reply_to = state.reply[paneName];
  return body;
}

function setupComposer(paneName) {
  const pane = panes[paneName];
  const form = pane.querySelector(".composer");
  form.append(document.getElementById("composer").content.cloneNode(true));
  const input = form.querySelector(".text");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    try {
      await post("/play/send", { ...target(paneName), text });
      input.value = "";
      clearReply(paneName);
    } catch (error) { showError(paneName, error); }
  });
  form.querySelector(".cancel-reply").addEventListener("click", () => clearReply(paneName));
  const file = form.querySelector("input[type=file]");
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    const data = new FormData();
    for (const [k, v] of Object.entries(target(paneName))) data.append(k, String(v));
    data.append("kind", form.querySelector(".attach-kind").value);
    if (input.value.trim()) data.append("caption", input.value.trim());
    for (const chosen of file.files) data.append("file", chosen, chosen.name);
    try {
      await post("/play/upload", data);
      input.value = "";
      clearReply(paneName);
    } catch (error) { showError(paneName, error); }
    file.value = "";
  });
  pane.querySelector(".messages").addEventListener("click", async (event) => {
    const el = event.target;
    if (el.dataset.press !== undefined) {
      el.disabled = true;
      try {
        const result = await post("/play/press", {
          user_id: currentPersona(paneName), chat_id: chatOf(paneName),
          message_id: Number(el.dataset.message), data: el.dataset.press,
        });
        if (result.answered && result.answer && result.answer.text) {
          if (result.answer.show_alert) showAlert(result.answer.text);
          else showToast(result.answer.text);
        }
      } catch (error) { showError(paneName, error); } finally { el.disabled = false; }
    } else if (el.dataset.reply) {
      const m = visibleMessages(paneName).find((x) => x.message_id === Number(el.dataset.reply));
      if (m) { setReply(paneName, m.message_id, m.data); input.focus(); }
    } else if (el.closest(".quote")) {
      const goal = pane.querySelector(`[data-message-id="${el.closest(".quote").dataset.goto}"]`);
      if (goal) { goal.scrollIntoView({ block: "center" }); goal.classList.add("flash"); setTimeout(() => goal.classList.remove("flash"), 1200); }
    } else if (el.closest("blockquote.expandable")) {
      el.closest("blockquote.expandable").classList.toggle("open");
    } else if (el.classList.contains("spoiler")) {
      el.classList.add("shown");
    }
  });
  const start = pane.querySelector(".start-button");
  if (start) {
    start.addEventListener("click", async () => {
      const persona = personaById(currentPersona(paneName));
      const text = persona.start ? `/start ${persona.start}` : "/start";
      try { await post("/play/send", { user_id: persona.user_id, chat_id: persona.user_id, text }); } catch (error) { showError(paneName, error); }
    });
  }
}

function showToast(text) {
  const toast = document.getElementById("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(showToast.timer);
  showToast.timer = setTimeout(() => { toast.hidden = true; }, 2500);
}

function showAlert(text) {
  const alert = document.getElementById("alert");
  alert.querySelector("p").textContent = text;
  alert.hidden = false;
}

document.querySelector("#alert button").addEventListener("click", () => { document.getElementById("alert").hidden = true; });
document.querySelectorAll("#clock button").forEach((b) => b.addEventListener("click", async () => {
  try { await post("/play/clock", { move: b.dataset.move }); } catch (error) { showToast(String(error.message || error)); }
}));
panes.group.querySelector(".forum").addEventListener("change", async (event) => {
  try { await post("/play/forum", { forum: event.target.checked }); } catch (error) { showToast(String(error.message || error)); }
});

function receive(snapshot) {
  const first = state.snapshot === null;
  state.snapshot = snapshot;
  if (first) {
    fillPersonas();
    for (const name of Object.keys(panes)) setupComposer(name);
  }
  renderAll();
  document.body.dataset.ready = "1";
}

const events = new EventSource("/play/events");
events.onmessage = (event) => receive(JSON.parse(event.data));
