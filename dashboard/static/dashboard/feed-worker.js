/* Dealstream dashboard: one organisation feed shared by every tab of the browser.
 *
 * Browsers open at most six HTTP/1.1 connections per host, so one EventSource per tab hangs
 * the seventh tab. This SharedWorker holds a single EventSource to the organisation's feed
 * (which carries every deal and batch event) and hands each tab every event after the tab's
 * own cursor, in order, exactly once; the tabs pick out what concerns their page.
 *
 * Exactness: the worker has every event with an id in (floor, lastId] — `floor` is where its
 * stream started, raised as the bounded buffer drops old events. A tab whose cursor is at or
 * above the floor is served from the buffer; an older cursor reopens the stream from that
 * cursor. Each tab is sent only ids above the last one it was sent, so a replay that other
 * tabs already have reaches none of them twice.
 *
 * Protocol (messages from a tab): {op: "join", url, cursor, lock} / {op: "leave"} /
 * {op: "online"}. To a tab: {kind: "state", state} and {kind: "event", type, id, data}.
 */
"use strict";

const MAX_RETRY_MS = 15000;
const BUFFER_SIZE = 1000;
// The states after which the server will not serve this feed again without a new page.
const FINAL = ["signed-out", "gone", "finished"];

const tabs = new Map(); // port → {sent: the newest id this tab has been sent}
let url = null;
let types = [];
let source = null;
let timer = null;
let retryMs = 1000;
let state = "connecting";
let floor = 0;
let lastId = 0;
let buffer = []; // {type, id, data}, oldest first, every event with an id in (floor, lastId]

function post(port, message) {
  try {
    port.postMessage(message);
  } catch (error) {
    tabs.delete(port); // its tab is gone
  }
}

function setState(next) {
  state = next;
  tabs.forEach(function (tab, port) {
    post(port, { kind: "state", state: next });
  });
}

function feedUrl() {
  const address = new URL(url);
  address.searchParams.set("last_event_id", String(lastId));
  return address.toString();
}

function close() {
  clearTimeout(timer);
  timer = null;
  if (source) source.close();
  source = null;
}

function open() {
  close();
  const current = new EventSource(feedUrl());
  source = current;
  current.onopen = function () {
    retryMs = 1000;
    setState("live");
  };
  current.onerror = function () {
    if (source !== current) return;
    setState("reconnecting");
    if (current.readyState === EventSource.CLOSED) diagnose();
  };
  types.forEach(function (type) {
    listen(current, type);
  });
}

function listen(current, type) {
  current.addEventListener(type, function (message) {
    if (source === current) receive(type, message);
  });
}

function receive(type, message) {
  const id = Number(message.lastEventId) || 0;
  if (type === "stream.reset") {
    // The server could not resume from the worker's position: every tab reloads its state.
    tabs.forEach(function (tab, port) {
      post(port, { kind: "event", type: type, id: id, data: message.data });
    });
    tabs.clear();
    close();
    return;
  }
  if (id && id <= lastId) return; // replayed twice: forwarded already
  if (id) {
    lastId = id;
    buffer.push({ type: type, id: id, data: message.data });
    if (buffer.length > BUFFER_SIZE) floor = buffer.shift().id;
  }
  if (state !== "live") setState("live");
  tabs.forEach(function (tab, port) {
    if (id && id <= tab.sent) return;
    if (id) tab.sent = id;
    post(port, { kind: "event", type: type, id: id, data: message.data });
  });
}

function diagnose() {
  const current = source;
  const controller = new AbortController();
  fetch(feedUrl(), { credentials: "same-origin", signal: controller.signal, headers: { Accept: "text/event-stream" } })
    .then(function (response) {
      controller.abort(); // only the status matters; a 200 would otherwise stream forever
      if (source !== current) return;
      if (response.status === 401 || response.status === 403) return stop("signed-out");
      if (response.status === 404) return stop("gone");
      if (response.status === 204) return stop("finished");
      retryLater();
    })
    .catch(function () {
      if (source === current) retryLater();
    });
}

function retryLater() {
  clearTimeout(timer);
  timer = setTimeout(open, retryMs);
  retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
}

function stop(final) {
  // Final for every tab: they say so and leave; a tab opened later starts afresh.
  setState(final);
  tabs.clear();
  close();
}

function join(port, message) {
  const cursor = Number(message.cursor) || 0;
  const tab = { sent: cursor };
  tabs.set(port, tab);
  if (message.lock && self.navigator.locks) {
    // The tab holds this lock for its lifetime: when it is granted here, the tab has closed
    // (a port has no close event, and a killed tab sends no "leave").
    self.navigator.locks.request(message.lock, function () {
      leave(port);
    });
  }
  if (!source) {
    url = message.url;
    types = (message.types || []).slice();
    floor = cursor;
    lastId = cursor;
    buffer = [];
    retryMs = 1000;
    state = "connecting";
    post(port, { kind: "state", state: state });
    open();
    return;
  }
  post(port, { kind: "state", state: state });
  // A page served after a release may know event types this worker's first tab did not.
  (message.types || []).forEach(function (type) {
    if (types.indexOf(type) !== -1) return;
    types.push(type);
    listen(source, type);
  });
  if (cursor < floor) {
    // Older than what the worker holds: replay from there; the other tabs skip what they have.
    floor = cursor;
    lastId = cursor;
    buffer = [];
    open();
    return;
  }
  buffer.forEach(function (event) {
    if (event.id <= tab.sent) return;
    tab.sent = event.id;
    post(port, { kind: "event", type: event.type, id: event.id, data: event.data });
  });
}

function leave(port) {
  if (!tabs.delete(port)) return;
  if (tabs.size === 0) close(); // the last tab left: nobody needs the stream
}

self.onconnect = function (connection) {
  const port = connection.ports[0];
  port.onmessage = function (event) {
    const message = event.data || {};
    if (message.op === "join") join(port, message);
    else if (message.op === "leave") leave(port);
    else if (message.op === "online" && tabs.size && (!source || source.readyState === EventSource.CLOSED)) open();
  };
  port.start();
};
