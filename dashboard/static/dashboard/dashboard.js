/* Dealstream dashboard: live updates over server-sent events. No build step, no dependencies.
 *
 * Every page is rendered on the server together with a cursor, the newest event id that
 * rendering reflects. LiveFeed opens the page's feed after that cursor, so whatever was
 * published between rendering and connecting is replayed, and keeps the feed open across
 * network drops and server restarts, showing "Reconnecting…" while it is down.
 */
(function () {
  "use strict";

  function readJson(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  const vocab = readJson("ds-vocabulary");
  const config = readJson("ds-live");

  // --- words: the same templates as dashboard/presentation.py --------------------------------

  function lookup(data, path) {
    let value = data;
    for (const part of path.split(".")) {
      if (value === null || typeof value !== "object") return null;
      value = value[part];
    }
    return value;
  }

  function formatValue(path, value) {
    // Scores are one-decimal numbers; JSON drops the ".0" that Python prints.
    if (typeof value === "number" && path.endsWith("health_score")) return value.toFixed(1);
    return String(value);
  }

  function fill(template, data) {
    return template.replace(/\{([a-z_.]+)(?:\|([a-z_]+))?\}/g, function (_, path, map) {
      const value = lookup(data, path);
      if (value === null || value === undefined || value === "") return vocab.missing;
      const labels = map ? vocab.labels[map] : null;
      if (labels) return labels[String(value)] || String(value);
      return formatValue(path, value);
    });
  }

  function describe(type, data) {
    const template = vocab.sentences[type];
    return template ? fill(template, data) : type;
  }

  function titleOf(type) {
    return vocab.titles[type] || type;
  }

  function scoreBand(score) {
    if (score === null || score === undefined) return vocab.unscored;
    for (const [floor, key, label] of vocab.bands) {
      if (score >= floor) return [key, label];
    }
    const last = vocab.bands[vocab.bands.length - 1];
    return [last[1], last[2]];
  }

  // --- small DOM helpers ---------------------------------------------------------------------

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  // Server-rendered bars carry their width as data-percent: the Content-Security-Policy
  // refuses style attributes in markup, while setting element.style from script is allowed.
  function sizeBars(root) {
    root.querySelectorAll(".progress__bar[data-percent]").forEach(function (bar) {
      bar.style.width = (parseInt(bar.dataset.percent, 10) || 0) + "%";
    });
  }

  function cloneTemplate(id) {
    const element = document.getElementById(id).content.firstElementChild.cloneNode(true);
    sizeBars(element);
    return element;
  }

  function field(root, name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  let announceTimer = null;
  function announce(text) {
    const region = $("[data-announcer]");
    if (!region) return;
    // Clearing first makes screen readers repeat a message identical to the previous one.
    region.textContent = "";
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      region.textContent = text;
    }, 100);
  }

  function localTime(element, withDate) {
    const stamp = new Date(element.getAttribute("datetime"));
    if (isNaN(stamp)) return;
    element.title = stamp.toLocaleString();
    element.textContent = withDate
      ? stamp.toLocaleString([], { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      : stamp.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  }

  function setStatusBadge(badge, status) {
    if (!badge) return;
    badge.className = "badge badge--" + status;
    badge.dataset.status = status;
    badge.textContent = vocab.labels.statuses[status] || status;
  }

  function setScoreBadge(badge, score) {
    if (!badge) return;
    const [band, label] = scoreBand(score);
    badge.classList.remove("score--strong", "score--fair", "score--weak", "score--none");
    badge.classList.add("score--" + band);
    badge.dataset.band = band;
    const value = $(".score__value", badge);
    const unscored = score === null || score === undefined;
    value.textContent = unscored ? "" : Number(score).toFixed(1);
    value.hidden = unscored;
    $(".score__label", badge).textContent = label;
  }

  function eventItem(type, data, id, withLinks) {
    const item = cloneTemplate("tpl-event");
    item.dataset.eventId = String(id);
    item.dataset.type = type;
    item.classList.add("event--" + type.replace(/[^a-z0-9]+/g, "-"));
    const time = $("time", item);
    time.setAttribute("datetime", data.timestamp || new Date().toISOString());
    localTime(time, true); // a feed spans days: every line says which one
    $(".event__title", item).textContent = titleOf(type);
    $(".event__sentence", item).textContent = describe(type, data);
    const links = $(".event__links", item);
    if (withLinks && links) {
      if (data.deal_id) {
        if (data.business_name) dealNames[data.deal_id] = data.business_name;
        const link = document.createElement("a");
        link.href = config.dealUrl + data.deal_id;
        link.dataset.dealId = String(data.deal_id);
        link.textContent = dealName(data.deal_id);
        field(item, "deal").append(link, ": ");
      }
      if (data.batch_id) {
        const link = document.createElement("a");
        link.href = config.batchUrl + data.batch_id;
        link.textContent = "Batch " + String(data.batch_id).slice(-6);
        links.append(link);
      }
    }
    item.classList.add("event--new");
    return item;
  }

  function dealName(dealId) {
    return dealNames[dealId] || "Deal " + dealId;
  }

  // Deal names the page already shows, so live events can name their deal too.
  const dealNames = {};
  document.querySelectorAll("a[data-deal-id]").forEach(function (link) {
    dealNames[link.dataset.dealId] = link.textContent;
  });

  function prependEvent(list, item, limit) {
    list.prepend(item);
    while (list.children.length > limit) list.lastElementChild.remove();
    const empty = $("#events-empty");
    if (empty) empty.hidden = true;
  }

  // --- the live feed -------------------------------------------------------------------------

  const STATE_TEXT = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    finished: "Finished",
    "signed-out": "Signed out: reload the page to log in",
    gone: "No longer available",
  };
  const MAX_RETRY_MS = 15000;

  const FINAL_STATES = ["signed-out", "gone", "finished"];

  /* The page's live feed, with resume and a visible connection state.
   *
   * Where the browser has SharedWorker, every tab shares one EventSource to the organisation's
   * feed held by feed-worker.js (six HTTP/1.1 connections per host would otherwise hang the
   * seventh tab): the worker sends this tab every event after its cursor and the connection
   * state, and the page keeps the events of its deal or batch (`config.shared`). Elsewhere the
   * tab opens its own EventSource to the page's feed, as follows.
   *
   * The browser reconnects by itself after a dropped connection, sending Last-Event-ID. It
   * gives up for good (readyState CLOSED) on an error status, a wrong content type or a 204;
   * then this class asks the server why and, unless the answer is final (signed out, gone,
   * finished), opens a new EventSource with ?last_event_id= of the last event it applied.
   */
  function LiveFeed(options) {
    this.url = options.url;
    this.lastId = options.cursor || 0;
    this.onEvent = options.onEvent;
    this.statusElement = $("[data-live-status]");
    this.retryMs = 1000;
    this.source = null;
    this.timer = null;
    this.done = false;
    this.types = Object.keys(vocab.titles);
    this.shared = config.shared || null;
    this.port = null;
  }

  // Whether an event of the organisation's feed belongs to this page's feed (a deal's or a
  // batch's: the event types of that feed whose data names the page's object).
  LiveFeed.prototype.accepts = function (type, data) {
    const route = this.shared;
    if (!route || !route.field) return true;
    return route.types.indexOf(type) !== -1 && String(data[route.field]) === String(route.value);
  };

  LiveFeed.prototype.feedUrl = function () {
    const url = new URL(this.url, window.location.href);
    url.searchParams.set("last_event_id", String(this.lastId));
    return url.toString();
  };

  LiveFeed.prototype.setState = function (state) {
    const element = this.statusElement;
    if (!element || element.dataset.state === state) return;
    element.dataset.state = state;
    $(".live__text", element).textContent = STATE_TEXT[state];
  };

  LiveFeed.prototype.start = function () {
    const feed = this;
    window.addEventListener("online", function () {
      if (feed.port) feed.port.postMessage({ op: "online" });
      else if (!feed.done && (!feed.source || feed.source.readyState === EventSource.CLOSED)) feed.open();
    });
    if (this.shared && window.SharedWorker) this.connect();
    else this.open();
  };

  LiveFeed.prototype.connect = function () {
    const feed = this;
    let worker;
    try {
      worker = new SharedWorker(this.shared.worker, { name: this.shared.name });
    } catch (error) {
      this.open(); // refused (a policy, a sandbox): this tab's own EventSource
      return;
    }
    const port = worker.port;
    this.port = port;
    worker.onerror = function () {
      // The worker could not start: fall back to this tab's own EventSource.
      if (feed.port !== port) return;
      feed.port = null;
      if (!feed.done) feed.open();
    };
    port.onmessage = function (event) {
      if (feed.port === port) feed.fromWorker(event.data);
    };
    port.start();
    // A lock this tab holds until it closes tells the worker when it has gone, since a port has
    // no close event (Web Locks need a secure context; elsewhere "pagehide" says so).
    const lock = navigator.locks ? "dealstream-tab-" + Date.now() + "-" + Math.random().toString(36).slice(2) : null;
    function join() {
      if (feed.done || feed.port !== port) return;
      port.postMessage({
        op: "join",
        url: new URL(feed.shared.feed, window.location.href).toString(),
        cursor: feed.lastId,
        types: feed.types,
        lock: lock,
      });
    }
    if (lock) {
      navigator.locks.request(lock, function () {
        join();
        return new Promise(function () {}); // held for the tab's lifetime
      });
    } else {
      join();
    }
    window.addEventListener("pagehide", function () {
      if (feed.port === port) port.postMessage({ op: "leave" });
    });
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) join(); // back from the back-forward cache: resume after lastId
    });
  };

  LiveFeed.prototype.fromWorker = function (message) {
    if (!message) return;
    if (message.kind === "state") {
      if (FINAL_STATES.indexOf(message.state) !== -1) this.stop(message.state);
      else this.setState(message.state);
    } else if (message.kind === "event") {
      this.receive(message.type, { lastEventId: String(message.id || ""), data: message.data });
    }
  };

  LiveFeed.prototype.open = function () {
    const feed = this;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    const source = new EventSource(this.feedUrl());
    this.source = source;
    source.onopen = function () {
      feed.retryMs = 1000;
      feed.setState("live");
    };
    source.onerror = function () {
      if (feed.done) {
        source.close();
        return;
      }
      feed.setState("reconnecting");
      if (source.readyState === EventSource.CLOSED) feed.diagnose();
    };
    this.types.forEach(function (type) {
      source.addEventListener(type, function (message) {
        feed.receive(type, message);
      });
    });
  };

  LiveFeed.prototype.receive = function (type, message) {
    const id = Number(message.lastEventId) || 0;
    if (type !== "stream.reset" && id && id <= this.lastId) return; // replayed twice: applied already
    let data;
    try {
      data = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    if (id) this.lastId = id;
    this.setState("live");
    if (type === "stream.reset") {
      // The server could not resume from our position (history pruned): start from fresh state.
      announce(describe(type, data));
      window.location.reload();
      return;
    }
    if (this.accepts(type, data)) this.onEvent(type, data, id);
  };

  LiveFeed.prototype.diagnose = function () {
    const feed = this;
    const controller = new AbortController();
    fetch(this.feedUrl(), { credentials: "same-origin", signal: controller.signal, headers: { Accept: "text/event-stream" } })
      .then(function (response) {
        controller.abort(); // only the status matters; a 200 would otherwise stream forever
        if (response.status === 401 || response.status === 403) return feed.stop("signed-out");
        if (response.status === 404) return feed.stop("gone");
        if (response.status === 204) return feed.stop("finished");
        feed.retryLater();
      })
      .catch(function () {
        feed.retryLater();
      });
  };

  LiveFeed.prototype.retryLater = function () {
    const feed = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () {
      feed.open();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  };

  LiveFeed.prototype.stop = function (state) {
    this.done = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    if (this.port) this.port.postMessage({ op: "leave" });
    this.port = null;
    this.setState(state);
  };

  // --- pages ---------------------------------------------------------------------------------

  function dealListPage() {
    const rows = $("#deal-rows");
    function rowOf(dealId) {
      return rows.querySelector('tr[data-deal-id="' + dealId + '"]');
    }
    // The flags are not in the events: the row's flags cell comes from the server, as a reload
    // would render it, whenever the deal is scored again.
    const flagTimers = {};
    function refreshFlags(dealId, delay) {
      if (!rowOf(dealId)) return;
      clearTimeout(flagTimers[dealId]);
      flagTimers[dealId] = setTimeout(function () {
        fetch(config.dealUrl + dealId + "/row", { credentials: "same-origin", headers: { Accept: "text/html" } })
          .then(function (response) {
            if (!response.ok) throw new Error("row refresh failed: " + response.status);
            return response.text();
          })
          .then(function (html) {
            const holder = document.createElement("tbody");
            holder.innerHTML = html;
            const fresh = holder.querySelector('[data-cell="flags"]');
            const row = rowOf(dealId);
            if (fresh && row) $('[data-cell="flags"]', row).replaceWith(fresh);
          })
          .catch(function () {
            refreshFlags(dealId, Math.min((delay || 500) * 2, MAX_RETRY_MS));
          });
      }, delay === undefined ? 150 : delay);
    }

    const handlers = {
      "deal.created": function (data) {
        if (!config.insertNew || rowOf(data.deal_id)) return;
        const row = cloneTemplate("tpl-deal-row");
        row.dataset.dealId = String(data.deal_id);
        const link = field(row, "link");
        link.href = config.dealUrl + data.deal_id;
        link.textContent = data.business_name;
        if (data.external_ref) {
          const ref = document.createElement("span");
          ref.className = "muted small";
          ref.textContent = " · " + data.external_ref;
          link.after(ref);
        }
        if (data.amount_requested != null) {
          // The page's language, as the server formats the rows it renders ("45,000.00").
          $('[data-cell="amount"]', row).textContent = Number(data.amount_requested).toLocaleString(document.documentElement.lang, {
            minimumFractionDigits: 2,
            maximumFractionDigits: 2,
          });
        }
        const created = field(row, "created");
        created.setAttribute("datetime", data.timestamp);
        localTime(created, true);
        row.classList.add("row--new");
        rows.prepend(row);
        $("#deals-empty").hidden = true;
        announce("New deal: " + data.business_name);
      },
      "deal.status_changed": function (data) {
        const row = rowOf(data.deal_id);
        if (row) setStatusBadge($("[data-status-badge]", row), data.new_status);
        // The "awaiting decision" count follows deals into and out of review.
        const count = $("#awaiting-count");
        const change = (data.new_status === "under_review" ? 1 : 0) - (data.old_status === "under_review" ? 1 : 0);
        if (count && change) count.textContent = String(Math.max(0, (Number(count.textContent) || 0) + change));
      },
      "processing.started": function (data) {
        const row = rowOf(data.deal_id);
        if (!row || data.statement_count == null) return;
        // Counts can arrive from statements started in parallel: never count down.
        const cell = $('[data-cell="statements"]', row);
        cell.textContent = String(Math.max(Number(cell.textContent) || 0, data.statement_count));
      },
      "processing.completed": function (data) {
        const row = rowOf(data.deal_id);
        if (row) setScoreBadge($("[data-score-badge]", row), data.health_score);
        refreshFlags(data.deal_id);
      },
      "deal.rescored": function (data) {
        const row = rowOf(data.deal_id);
        if (row) setScoreBadge($("[data-score-badge]", row), data.health_score);
        refreshFlags(data.deal_id);
      },
      "statement.removed": function (data) {
        const row = rowOf(data.deal_id);
        if (!row) return;
        const cell = $('[data-cell="statements"]', row);
        cell.textContent = String(Math.max(0, (Number(cell.textContent) || 0) - 1));
      },
    };
    new LiveFeed({
      url: config.feed,
      cursor: config.cursor,
      onEvent: function (type, data) {
        if (handlers[type]) handlers[type](data);
      },
    }).start();
  }

  function dealPage() {
    const list = $("#statements");
    const log = $("#event-log");

    function statementRow(statementId) {
      let row = list.querySelector('[data-statement-id="' + statementId + '"]');
      if (!row) {
        row = cloneTemplate("tpl-statement");
        row.dataset.statementId = String(statementId);
        field(row, "filename").textContent = "Statement " + statementId;
        list.append(row);
        $("#statements-empty").hidden = true;
      }
      return row;
    }

    function showStatement(statementId, status, percent, stage, detail) {
      const row = statementRow(statementId);
      const statusLabel = vocab.labels.statementStatuses[status] || status;
      row.dataset.status = status;
      field(row, "status").textContent = statusLabel;
      field(row, "stage").textContent = status === "processing" && stage ? " · " + (vocab.labels.stages[stage] || stage) : "";
      if (percent !== null) {
        field(row, "percent").textContent = percent + " %";
        const bar = $("[role=progressbar]", row);
        bar.setAttribute("aria-valuenow", String(percent));
        $(".progress__bar", bar).style.width = percent + "%";
      }
      const bar = $("[role=progressbar]", row);
      bar.setAttribute("aria-valuetext", statusLabel + ", " + bar.getAttribute("aria-valuenow") + " %");
      const detailElement = field(row, "detail");
      if (detail !== undefined) {
        detailElement.textContent = "";
        if (detail.error) {
          const span = document.createElement("span");
          span.className = "error-text";
          span.textContent = detail.error;
          detailElement.append(span);
        } else {
          detailElement.textContent = detail.text;
        }
      }
    }

    /* A server-rendered block of the page that re-renders on the server when events change it.
     *
     * Events come in bursts (completed, status, proposal): one fetch for the burst. A fetch that
     * fails is tried again, backing off, until the block shows the deal as it is. The block is
     * swapped only when its data-version changed, so a keyboard user's focus is not thrown away
     * by an unrelated event; if it was inside, it moves to the block's heading.
     */
    function LiveBlock(selector, url, heading) {
      let timer = null;
      let retryMs = 1000;
      return function refresh(delay) {
        clearTimeout(timer);
        timer = setTimeout(function () {
          fetch(url(), { credentials: "same-origin", headers: { Accept: "text/html" } })
            .then(function (response) {
              if (!response.ok) throw new Error("refresh failed: " + response.status);
              return response.text();
            })
            .then(function (html) {
              retryMs = 1000;
              const holder = document.createElement("div");
              holder.innerHTML = html;
              const fresh = holder.firstElementChild;
              const current = $(selector);
              if (!fresh || !current || current.dataset.version === fresh.dataset.version) return;
              const hadFocus = current.contains(document.activeElement);
              current.replaceWith(fresh);
              if (hadFocus) {
                const title = $(heading);
                title.tabIndex = -1;
                title.focus();
              }
            })
            .catch(function () {
              const wait = retryMs;
              retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
              refresh(wait);
            });
        }, delay === undefined ? 150 : delay);
      };
    }

    const refreshDecision = LiveBlock("#deal-review", function () {
      return config.reviewUrl;
    }, "#decision-title");
    // The transactions block keeps the filters and page of the address bar.
    const refreshTransactions = LiveBlock("#transactions", function () {
      return config.transactionsUrl + window.location.search;
    }, "#transactions-title");
    // What the transactions block shows changes with the deal's transactions (a statement done
    // or removed, a correction) and with whether it can still be corrected (a decision).
    function refreshMoney() {
      refreshDecision();
      refreshTransactions();
    }

    function closeUploads() {
      const form = $("#upload-form");
      if (!form) return;
      const note = document.createElement("p");
      note.className = "muted";
      note.textContent = "This deal has been decided and takes no more statements.";
      form.replaceWith(note);
    }

    const handlers = {
      "processing.started": function (data) {
        showStatement(data.statement_id, "processing", data.progress, data.stage);
      },
      "processing.progress": function (data) {
        showStatement(data.statement_id, "processing", data.progress, data.stage);
      },
      "processing.completed": function (data) {
        showStatement(data.statement_id, "completed", 100, "completed", { text: "" });
        setScoreBadge($("#deal-score [data-score-badge]"), data.health_score);
        announce(describe("processing.completed", data));
        refreshMoney();
      },
      "processing.failed": function (data) {
        showStatement(data.statement_id, data.canceled ? "canceled" : "failed", null, "", { error: data.error });
        announce(describe("processing.failed", data));
        refreshDecision();
      },
      "deal.status_changed": function (data) {
        setStatusBadge($("#deal-status [data-status-badge]"), data.new_status);
        if (data.new_status === "approved" || data.new_status === "declined") closeUploads();
        refreshDecision();
      },
      "proposed_change": function (data) {
        announce(describe("proposed_change", data));
        refreshDecision();
      },
      "deal.decision": function (data) {
        announce(describe("deal.decision", data));
        refreshMoney();
      },
      "proposal.rejected": function (data) {
        announce(describe("proposal.rejected", data));
        refreshDecision();
      },
      "deal.rescored": function (data) {
        setScoreBadge($("#deal-score [data-score-badge]"), data.health_score);
        announce(describe("deal.rescored", data));
        refreshMoney();
      },
      "statement.removed": function (data) {
        const row = list.querySelector('[data-statement-id="' + data.statement_id + '"]');
        if (row) row.remove();
        if (!list.querySelector("[data-statement-id]")) $("#statements-empty").hidden = false;
        announce(describe("statement.removed", data));
        refreshMoney();
      },
    };

    new LiveFeed({
      url: config.feed,
      cursor: config.cursor,
      onEvent: function (type, data, id) {
        if (handlers[type]) handlers[type](data);
        prependEvent(log, eventItem(type, data, id, false), 200);
      },
    }).start();

    setUpUpload(statementRow);
  }

  function setUpUpload(statementRow) {
    const form = $("#upload-form");
    if (!form) return;
    const input = $("#statement-files");
    const zone = $("#dropzone");
    const status = $("#upload-status");
    const token = $("input[name=csrfmiddlewaretoken]", form).value;
    $("[data-upload-submit]", form).hidden = true; // choosing or dropping files uploads them

    function say(text, isError) {
      status.textContent = text;
      status.classList.toggle("upload__status--error", Boolean(isError));
    }

    function upload(files) {
      if (!files || !files.length) return;
      const body = new FormData();
      Array.prototype.forEach.call(files, function (file) {
        body.append("statements", file);
      });
      say("Uploading " + files.length + " file" + (files.length === 1 ? "" : "s") + "…");
      zone.classList.add("dropzone--busy");
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": token },
      })
        .then(function (response) {
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (payload) {
              if (!response.ok) {
                const reason =
                  (payload && payload.error && payload.error.message) ||
                  (response.status === 403 ? "You are not allowed to upload statements." : "The upload failed. Please try again.");
                say(reason, true);
                return;
              }
              payload.statements.forEach(function (statement) {
                const row = statementRow(statement.id);
                field(row, "filename").textContent = statement.filename;
                $("[role=progressbar]", row).setAttribute("aria-label", "Processing of " + statement.filename);
              });
              say(payload.message);
              if (payload.batch) {
                const link = document.createElement("a");
                link.href = payload.batch.url;
                link.textContent = "Follow the batch";
                status.append(" ", link);
              }
            });
        })
        .catch(function () {
          say("The upload did not reach the server. Check the connection and try again.", true);
        })
        .finally(function () {
          zone.classList.remove("dropzone--busy");
          input.value = "";
        });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      upload(input.files);
    });
    input.addEventListener("change", function () {
      upload(input.files);
    });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dropzone--over");
      });
    });
    ["dragleave", "dragend"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("dropzone--over");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dropzone--over");
      upload(event.dataTransfer.files);
    });
  }

  function batchPage() {
    if (config.finished) return;
    const count = $("#batch-count");
    const bar = $("#batch-bar");
    const summary = $("#batch-summary");
    let feed = null;

    function showDocument(data) {
      const row = document.querySelector('tr[data-document-id="' + data.document_id + '"]');
      if (row) {
        row.dataset.status = data.status;
        const label = vocab.labels.statementStatuses[data.status] || data.status;
        field(row, "status").innerHTML = "";
        const result = document.createElement("span");
        result.className = "result result--" + data.status;
        result.textContent = label;
        field(row, "status").append(result);
        const detail = field(row, "detail");
        detail.textContent = "";
        if (data.error) {
          const span = document.createElement("span");
          span.className = "error-text";
          span.textContent = data.error;
          detail.append(span);
        }
      }
      const done = parseInt(String(data.progress).split("/")[0], 10) || 0;
      count.textContent = data.progress;
      bar.setAttribute("aria-valuenow", String(done));
      bar.setAttribute("aria-valuetext", done + " of " + config.total + " documents done");
      $(".progress__bar", bar).style.width = Math.round((done / config.total) * 100) + "%";
    }

    const handlers = {
      "batch.document_processed": showDocument,
      "batch.document_failed": function (data) {
        showDocument(data);
        announce(describe("batch.document_failed", data));
      },
      "batch.completed": function (data) {
        summary.textContent = "Finished: " + data.succeeded + " processed, " + data.failed + " failed.";
        count.textContent = data.total + "/" + data.total;
        feed.stop("finished");
      },
    };
    feed = new LiveFeed({
      url: config.feed,
      cursor: config.cursor,
      onEvent: function (type, data) {
        if (handlers[type]) handlers[type](data);
      },
    });
    feed.start();
  }

  function activityPage() {
    // One line per outcome: progress steps are not listed, and only outcomes are announced.
    const list = $("#activity");
    new LiveFeed({
      url: config.feed,
      cursor: config.cursor,
      onEvent: function (type, data, id) {
        if (config.types.indexOf(type) === -1) return;
        if (list.querySelector('[data-event-id="' + id + '"]')) return;
        prependEvent(list, eventItem(type, data, id, true), 500);
        if (vocab.outcomes.indexOf(type) !== -1) {
          announce((data.deal_id ? dealName(data.deal_id) + ": " : "") + describe(type, data));
        }
      },
    }).start();
  }

  // --- start ---------------------------------------------------------------------------------

  sizeBars(document);

  // A region that scrolls by itself must be reachable by keyboard, or its end cannot be read
  // without a mouse (WCAG 2.1.1): the event log scrolls inside its card.
  document.querySelectorAll(".card--log").forEach(function (region) {
    if (!region.hasAttribute("tabindex")) region.tabIndex = 0;
  });

  document.querySelectorAll(".event__time[datetime]").forEach(function (element) {
    localTime(element, true);
  });
  document.querySelectorAll("[data-field=created][datetime]").forEach(function (element) {
    localTime(element, true);
  });

  if (!vocab || !config || !window.EventSource) return;
  const pages = { "deal-list": dealListPage, deal: dealPage, batch: batchPage, activity: activityPage };
  const page = pages[document.body.dataset.page];
  if (page) page();
})();
