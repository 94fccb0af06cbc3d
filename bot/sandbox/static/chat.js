"use strict";
// The sandbox's browser chat: talks to /sandbox/api/* and long-polls for changes. Each open
// chat is a pane; the address (?user=A&user=B&active=B) says which, so a reload reopens them.
class ApiError extends Error {
  constructor(status, body) { super(typeof body === "string" ? body : JSON.stringify(body));
    this.status = status; this.body = body; }
}
const api = async (path, body) => {
  const options = body === undefined ? {} : body instanceof FormData
    ? { method: "POST", body } : { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) };
  const response = await fetch("/sandbox/api/" + path, options);
  const isJson = (response.headers.get("Content-Type") || "").includes("json");
  const data = isJson ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
};
let state = { bots: [], people: [], presets: [] };
const panes = [];
let active = null;

function renderEntities(text, entities) {
  // Entity offsets are UTF-16 units, as are JavaScript string indexes.
  const frag = document.createDocumentFragment();
  if (!entities || !entities.length) { frag.append(text); return frag; }
  const tags = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code",
    pre: "pre", blockquote: "blockquote", expandable_blockquote: "blockquote", spoiler: "span",
    text_link: "a", url: "a" };
  let pos = 0;
  const sorted = [...entities].sort((a, b) => a.offset - b.offset);
  for (const e of sorted) {
    if (e.offset < pos) continue;  // nested entities: keep the outer one
    frag.append(text.slice(pos, e.offset));
    const el = document.createElement(tags[e.type] || "span");
    el.textContent = text.slice(e.offset, e.offset + e.length);
    if (e.type === "spoiler") el.className = "spoiler";
    if (e.type === "text_link" || e.type === "url") {
      el.href = e.url || el.textContent; el.target = "_blank"; el.rel = "noopener";
    }
    frag.append(el);
    pos = e.offset + e.length;
  }
  frag.append(text.slice(pos));
  return frag;
}

// Drawn icons: emoji fonts are missing on many desktops (and in headless browsers).
const ICONS = {
  pin: "M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 " +
    "1 12 6.5a2.5 2.5 0 0 1 0 5z",
  phone: "M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.25 11.4 11.4 0 0 0 3.6.57 " +
    "1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 " +
    "1.25.2 2.45.57 3.57a1 1 0 0 1-.25 1l-2.2 2.23z",
};

function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24"); svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path"); path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function fileSize(bytes) {
  if (bytes === undefined || bytes === null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function documentCard(doc) {
  // A document as Telegram shows it: icon, name, size, and a way to open it.
  const card = document.createElement("div"); card.className = "document";
  const fileName = doc.file_name || "document";
  const dot = fileName.lastIndexOf(".");
  const kind = document.createElement("span"); kind.className = "kind";
  kind.textContent = dot > 0 ? fileName.slice(dot + 1, dot + 5).toUpperCase() : "FILE";
  const file = document.createElement("span"); file.className = "file";
  const name = document.createElement("span"); name.className = "name";
  name.textContent = fileName;
  const size = document.createElement("span"); size.className = "size";
  size.textContent = fileSize(doc.file_size);
  if (doc.mime_type) size.title = doc.mime_type;
  file.append(name, size);
  const link = document.createElement("a"); link.className = "download";
  link.href = "/sandbox/api/files/" + encodeURIComponent(doc.file_id) + "?download=1";
  link.download = doc.file_name || "document"; link.textContent = "Download";
  link.setAttribute("aria-label", "Download " + (doc.file_name || "document"));
  card.append(kind, file, link);
  return card;
}

function personName(id) {
  const p = state.people.find(x => x.id === id);
  return p ? [p.first_name, p.last_name].filter(Boolean).join(" ") : String(id);
}

class Pane {
  constructor(userId, bot) {
    this.userId = userId; this.bot = bot; this.version = -1; this.alive = true;
    this.el = document.getElementById("pane-template").content.firstElementChild.cloneNode(true);
    this.el.dataset.user = userId;
    document.getElementById("panes").append(this.el);
    for (const who of this.el.querySelectorAll(".who")) who.textContent = personName(userId);
    this.q(".new-tab").href = "/chat?user=" + userId;
    this.el.addEventListener("pointerdown", () => activate(this));
    this.el.addEventListener("focusin", () => activate(this));
    this.q(".close").onclick = ev => { ev.stopPropagation(); closePane(this); };
    this.q(".composer").onsubmit = ev => { ev.preventDefault(); this.sendText(); };
    this.q(".menu").onclick = () => { this.q(".commands").hidden = !this.q(".commands").hidden; };
    this.q(".attach-location").onclick = () => this.toggleLocation();
    this.q(".attach-photo input").onchange = ev => this.sendPhoto(ev.target.files[0]);
    this.q(".location").onsubmit = ev => { ev.preventDefault(); this.shareLocation(); };
    this.q(".location .cancel").onclick = () => this.toggleLocation(false);
    this.q(".empty .start").onclick = () => this.sendText("/start");
    for (const p of state.presets) {
      const b = document.createElement("button"); b.type = "button"; b.textContent = p.label;
      b.onclick = () => this.shareLocation(p.latitude, p.longitude);
      this.q(".presets").append(b);
    }
    this.poll();
  }
  q(sel) { return this.el.querySelector(sel); }
  who() { return { user_id: this.userId, bot: this.bot }; }
  label() { return personName(this.userId); }
  async sendText(text) {
    const input = this.q(".composer input[name=text]");
    const value = (text ?? input.value).trim();
    if (!value) return;
    if (text === undefined) input.value = "";
    await api("send", { ...this.who(), text: value });
  }
  toggleLocation(show) {
    const form = this.q(".location");
    form.hidden = show === undefined ? !form.hidden : !show;
    if (!form.hidden) this.showLocationErrors({});
  }
  showLocationErrors(errors) {
    // The sandbox checks a location as Telegram would; its reasons go next to their field.
    const form = this.q(".location");
    for (const span of form.querySelectorAll(".error")) {
      const reason = errors[span.dataset.for] || "";
      span.textContent = reason;
      const input = form.elements[span.dataset.for];
      if (input) {
        if (reason) {
          input.setAttribute("aria-invalid", "true");
          span.id = `err-${this.userId}-${span.dataset.for}`;
          input.setAttribute("aria-describedby", span.id);
        } else {
          input.removeAttribute("aria-invalid"); input.removeAttribute("aria-describedby");
        }
      }
    }
  }
  async shareLocation(lat, lon) {
    const f = this.q(".location");
    const preset = lat !== undefined;
    const body = { ...this.who(), latitude: preset ? lat : f.latitude.value,
      longitude: preset ? lon : f.longitude.value,
      horizontal_accuracy: preset ? "" : f.horizontal_accuracy.value };
    try {
      await api("location", body);
    } catch (err) {
      const errors = err.body && err.body.errors ? err.body.errors
        : { form: "Not sent: " + (err.message || "the sandbox did not answer") };
      this.showLocationErrors(errors);
      const first = Object.keys(errors).find(k => f.elements[k]);
      if (first) f.elements[first].focus();
      return;
    }
    this.showLocationErrors({});
    f.hidden = true;
  }
  async sendPhoto(file) {
    if (!file) return;
    const form = new FormData();
    form.append("user_id", this.userId); form.append("bot", this.bot); form.append("photo", file);
    await api("photo", form);
  }
  async press(text, messageId) {
    const result = await api("press", { ...this.who(), text, message_id: messageId });
    if (result.url) this.openUrl(result.url);
  }
  async pressReply(button) {
    if (button.request_location) { this.toggleLocation(true); return; }
    if (button.request_contact) { await api("contact", this.who()); return; }
    if (button.web_app) {
      const r = await api("web_app", { ...this.who(), url: button.web_app.url });
      this.openUrl(r.url); return;
    }
    await this.sendText(button.text);
  }
  openUrl(url) {
    // Mini Apps open in a frame inside the chat, with #tgWebAppData=... as Telegram appends it.
    if (url.includes("#tgWebAppData=")) {
      let box = this.q(".webapp-box");
      if (!box) {
        box = document.createElement("div"); box.className = "webapp-box";
        const close = document.createElement("button"); close.type = "button";
        close.className = "close-app"; close.textContent = "Close app";
        close.onclick = () => box.remove();
        const frame = document.createElement("iframe"); frame.className = "webapp";
        box.append(close, frame);
        this.q(".messages").after(box);
      }
      box.querySelector("iframe").src = url;
    } else {
      window.open(url, "_blank", "noopener");
    }
  }
  async poll() {
    while (this.alive) {
      try {
        const q = new URLSearchParams({ user_id: this.userId, bot: this.bot, since: this.version });
        const response = await fetch("/sandbox/api/chat?" + q);
        if (!response.ok) throw new Error(response.statusText);
        const chat = await response.json();
        if (!this.alive) return;
        this.version = chat.version;
        this.render(chat);
      } catch (err) {
        const status = this.q(".status");
        status.textContent = "offline: is outpost run still running?";
        status.classList.add("offline");
        await new Promise(r => setTimeout(r, 1000));
      }
    }
  }
  render(chat) {
    const status = this.q(".status");
    status.classList.remove("offline");
    status.textContent = chat.blocked ? "blocked the bot" : "@" + chat.bot.username;
    const list = this.q(".messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren();
    for (const m of chat.messages) {
      const li = document.createElement("li");
      li.className = m.from_bot ? "bot" : "mine";
      li.dataset.messageId = m.message_id;
      if (m.photo) {
        const img = document.createElement("img");
        img.src = "/sandbox/api/files/" + encodeURIComponent(m.photo); img.alt = "photo";
        li.append(img);
      }
      if (m.location) {
        const { latitude, longitude } = m.location;
        li.append(icon("pin"), ` ${latitude.toFixed(5)}, ${longitude.toFixed(5)}` +
          (m.location.horizontal_accuracy ? ` ±${m.location.horizontal_accuracy} m` : "") +
          (m.location.live_period ? " (live)" : "") + (m.venue ? `\n${m.venue.title}` : ""));
      }
      if (m.contact) {
        li.append(icon("phone"), ` ${m.contact.first_name} ${m.contact.phone_number}`);
      }
      if (m.document) li.append(documentCard(m.document));
      if (m.text) li.append(renderEntities(m.text, m.entities));
      if (m.inline_keyboard && m.inline_keyboard.length) {
        const kb = document.createElement("div"); kb.className = "inline-keyboard";
        for (const row of m.inline_keyboard) {
          const r = document.createElement("div"); r.className = "row";
          for (const b of row) {
            const btn = document.createElement("button"); btn.type = "button";
            btn.textContent = b.text + (b.url ? " ↗" : b.web_app ? " ⧉" : "");
            btn.onclick = () => this.press(b.text, m.message_id);
            r.append(btn);
          }
          kb.append(r);
        }
        li.append(kb);
      }
      const meta = document.createElement("span"); meta.className = "meta";
      meta.textContent = (m.edited ? "edited " : "") +
        new Date(m.date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      li.append(meta);
      list.append(li);
    }
    const empty = chat.messages.length === 0;
    list.hidden = empty;
    this.q(".empty").hidden = !empty;
    if (atBottom || !this.rendered) list.scrollTop = list.scrollHeight;
    this.rendered = true;
    const rk = this.q(".reply-keyboard");
    rk.replaceChildren();
    for (const row of (chat.reply_keyboard && chat.reply_keyboard.keyboard) || []) {
      const r = document.createElement("div"); r.className = "row";
      for (const raw of row) {
        const b = typeof raw === "string" ? { text: raw } : raw;
        const btn = document.createElement("button"); btn.type = "button"; btn.textContent = b.text;
        btn.onclick = () => this.pressReply(b);
        r.append(btn);
      }
      rk.append(r);
    }
    const cmds = this.q(".commands");
    cmds.replaceChildren();
    for (const c of chat.commands) {
      const btn = document.createElement("button"); btn.type = "button";
      btn.textContent = `/${c.command} — ${c.description}`;
      btn.onclick = () => { cmds.hidden = true; this.sendText("/" + c.command); };
      cmds.append(btn);
    }
    const alert = this.q(".alert");
    const answer = chat.answers[0];
    const fresh = this.answerCount !== undefined && chat.answer_count > this.answerCount;
    this.answerCount = chat.answer_count;
    if (fresh && answer && answer.text) {
      alert.textContent = answer.text; alert.hidden = false;
      clearTimeout(this.alertTimer);
      this.alertTimer = setTimeout(() => { alert.hidden = true; }, 3000);
    }
  }
}

// Which chats are open, which one is in front (the only one shown on a phone).

function saveAddress() {
  const q = new URLSearchParams();
  for (const p of panes) q.append("user", p.userId);
  if (active && panes.length > 1) q.set("active", active.userId);
  const bot = document.getElementById("bot").value;
  if (state.bots.length > 1 && bot) q.set("bot", bot);
  history.replaceState(null, "", "/chat" + (panes.length ? "?" + q : ""));
}

function renderTabs() {
  const tabs = document.getElementById("tabs");
  tabs.replaceChildren();
  tabs.hidden = panes.length < 2;
  tabs.setAttribute("role", "tablist");
  for (const p of panes) {
    const b = document.createElement("button"); b.type = "button"; b.setAttribute("role", "tab");
    b.textContent = p.label(); b.dataset.user = p.userId;
    b.setAttribute("aria-selected", String(p === active));
    b.onclick = () => activate(p);
    tabs.append(b);
  }
}

function activate(pane) {
  if (active === pane) return;
  active = pane;
  for (const p of panes) p.el.classList.toggle("active", p === pane);
  document.getElementById("person").value = String(pane.userId);
  document.getElementById("bot").value = pane.bot;
  renderTabs(); saveAddress();
}

function openPane(userId, bot) {
  const existing = panes.find(p => p.userId === userId && p.bot === bot);
  if (existing) { activate(existing); return existing; }
  const pane = new Pane(userId, bot);
  panes.push(pane);
  active = null; activate(pane);
  return pane;
}

function closePane(pane) {
  pane.alive = false; pane.el.remove();
  panes.splice(panes.indexOf(pane), 1);
  if (active === pane) { active = null; if (panes.length) activate(panes[panes.length - 1]); }
  renderTabs(); saveAddress();
}

function replaceActive(userId, bot) {
  // The header's person picker changes the chat in front, as a phone shows one at a time.
  if (!active) { openPane(userId, bot); return; }
  const old = active;
  const twin = panes.find(p => p !== old && p.userId === userId && p.bot === bot);
  if (twin) { activate(twin); return; }
  const pane = new Pane(userId, bot);
  old.el.replaceWith(pane.el);
  old.alive = false;
  panes[panes.indexOf(old)] = pane;
  active = null; activate(pane);
}

function togglePicker(show) {
  const picker = document.getElementById("picker");
  const button = document.getElementById("add-pane");
  picker.hidden = show === undefined ? !picker.hidden : !show;
  button.setAttribute("aria-expanded", String(!picker.hidden));
  if (picker.hidden) return;
  const bot = document.getElementById("bot").value;
  const choices = picker.querySelector(".choices");
  choices.replaceChildren();
  for (const p of state.people) {
    const b = document.createElement("button"); b.type = "button"; b.setAttribute("role", "menuitem");
    const open = panes.some(x => x.userId === p.id && x.bot === bot);
    b.textContent = personName(p.id) + (open ? " (open)" : "");
    b.disabled = open;
    b.onclick = () => { togglePicker(false); openPane(p.id, bot); };
    choices.append(b);
  }
  const first = choices.querySelector("button:not(:disabled)");
  if (first) first.focus();
}

async function main() {
  state = await api("state");
  const personSel = document.getElementById("person");
  const botSel = document.getElementById("bot");
  for (const p of state.people) personSel.add(new Option(`${personName(p.id)} (${p.id})`, p.id));
  for (const b of state.bots) botSel.add(new Option("@" + b.username, b.username));
  document.querySelector(".bot-label").hidden = state.bots.length < 2;
  const query = new URLSearchParams(location.search);
  const known = new Set(state.people.map(p => p.id));
  if (query.get("bot")) botSel.value = query.get("bot");
  const wanted = query.getAll("user").map(Number).filter(id => known.has(id));
  if (!wanted.length && state.people.length) wanted.push(state.people[0].id);
  for (const id of wanted) openPane(id, botSel.value);
  const front = panes.find(p => p.userId === Number(query.get("active")));
  if (front) activate(front);
  personSel.onchange = () => replaceActive(Number(personSel.value), botSel.value);
  botSel.onchange = () => replaceActive(Number(personSel.value), botSel.value);
  document.getElementById("add-pane").onclick = ev => { ev.stopPropagation(); togglePicker(); };
  document.addEventListener("click", ev => {
    if (!document.getElementById("picker").contains(ev.target)) togglePicker(false);
  });
  document.addEventListener("keydown", ev => { if (ev.key === "Escape") togglePicker(false); });
}
main();
