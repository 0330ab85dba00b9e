// The page of `watermark report`: draws the run's data (the JSON object in #report-data,
// built by world/src/teaching/report_data.rs) and moves every view together with one step
// control. Large runs stay smooth because nothing is drawn that is not visible: the
// space-time diagram is a canvas the size of its viewport, redrawn from the messages whose
// time span meets the visible window (found by binary search), and the client history
// renders only the rows in view.
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('report-data').textContent);
  var steps = data.steps;
  var messages = data.messages;
  var operations = data.operations;
  var LANE_HEIGHT = 30;
  var AXIS_HEIGHT = 26;
  var ROW_HEIGHT = 22;

  // `focus`: the violation whose records the log strips mark (-1: none).
  var view = { step: 0, pxPerMs: 1, draggingSlider: false, highlighted: -1, focus: -1 };

  // ---- derived tables, computed once ----

  // Per step, how many messages were sent, delivered and dropped up to and including it.
  function cumulative(countAt) {
    var counts = new Uint32Array(steps.length);
    countAt(counts);
    for (var i = 1; i < counts.length; i++) counts[i] += counts[i - 1];
    return counts;
  }
  var sentBy = cumulative(function (counts) {
    messages.forEach(function (m) { counts[m.send_step]++; });
  });
  var deliveredBy = cumulative(function (counts) {
    messages.forEach(function (m) { if (m.outcome === 'delivered') counts[m.end_step]++; });
  });
  var droppedBy = cumulative(function (counts) {
    messages.forEach(function (m) { if (m.outcome === 'dropped') counts[m.end_step]++; });
  });
  var findingsBy = cumulative(function (counts) {
    steps.forEach(function (s, i) { if (s.kind === 'finding') counts[i]++; });
  });
  // Completion times per outcome, sorted, so a count at time T is one binary search.
  function sortedTimes(select) {
    var times = [];
    operations.forEach(function (op) { var t = select(op); if (t !== null) times.push(t); });
    return times.sort(function (a, b) { return a - b; });
  }
  var invokeTimes = sortedTimes(function (op) { return op.invoke_ms; });
  var completedTimes = {};
  ['ok', 'fail', 'info'].forEach(function (outcome) {
    completedTimes[outcome] = sortedTimes(function (op) {
      return op.outcome === outcome && op.complete_ms !== null ? op.complete_ms : null;
    });
  });
  // Labels of faults that overlap on a lane, and of markers at one moment, take turns on
  // two or more rows so they do not print over each other.
  function labelRows(items, overlaps) {
    items.forEach(function (item, index) {
      var row = 0;
      for (var earlier = 0; earlier < index; earlier++) if (overlaps(items[earlier], item)) row++;
      item.labelRow = row % 3;
    });
  }
  labelRows(data.faults, function (a, b) { return a.lane === b.lane && a.end_ms > b.start_ms; });
  labelRows(data.markers, function (a, b) { return a.time_ms === b.time_ms; });
  var longestMessageMs = 0;
  messages.forEach(function (m) {
    longestMessageMs = Math.max(longestMessageMs, endMs(m) - m.send_ms);
  });

  // The first index in a sorted array whose key is above `value`.
  function upperBound(array, value, key) {
    var low = 0, high = array.length;
    while (low < high) {
      var middle = (low + high) >>> 1;
      if ((key ? key(array[middle]) : array[middle]) <= value) low = middle + 1; else high = middle;
    }
    return low;
  }
  function stepTime(step) { return steps.length ? steps[step].time_ms : 0; }
  // The last step at or before `timeMs`.
  function stepAt(timeMs) { return Math.max(0, upperBound(steps, timeMs, function (s) { return s.time_ms; }) - 1); }
  function endMs(message) { return message.end_ms === null ? data.sim_time_ms : message.end_ms; }
  function seconds(timeMs) { return (timeMs / 1000).toFixed(3) + ' s'; }
  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // ---- the step control ----

  function setStep(step, options) {
    if (!steps.length) return;
    view.step = Math.max(0, Math.min(steps.length - 1, step));
    if (!view.draggingSlider) document.getElementById('time-slider').value = stepTime(view.step);
    renderState();
    followInDiagram();
    scheduleDraw();
    renderHistory(!(options && options.keepHistoryScroll));
    renderViolationStates();
    renderReplicas();
  }

  function renderState() {
    var step = steps[view.step];
    var time = step.time_ms;
    var state = document.getElementById('state');
    var invoked = upperBound(invokeTimes, time);
    var ok = upperBound(completedTimes.ok, time);
    var fail = upperBound(completedTimes.fail, time);
    var info = upperBound(completedTimes.info, time);
    var counters = [
      ['step', view.step, 'step'],
      ['time-ms', time, 'time (ms)'],
      ['messages-sent', sentBy[view.step], 'messages sent'],
      ['messages-delivered', deliveredBy[view.step], 'delivered'],
      ['messages-dropped', droppedBy[view.step], 'dropped'],
      ['messages-in-flight', sentBy[view.step] - deliveredBy[view.step] - droppedBy[view.step], 'in flight'],
      ['operations-invoked', invoked, 'operations invoked'],
      ['operations-ok', ok, 'ok'],
      ['operations-fail', fail, 'failed (definite)'],
      ['operations-info', info, 'indefinite'],
      ['operations-pending', invoked - ok - fail - info, 'not yet complete'],
      ['findings', findingsBy[view.step], 'checker findings']
    ];
    var list = document.getElementById('counters');
    list.textContent = '';
    counters.forEach(function (counter) {
      state.setAttribute('data-' + counter[0], String(counter[1]));
      list.appendChild(element('dt', '', counter[2]));
      list.appendChild(element('dd', '', String(counter[1])));
    });
    state.setAttribute('data-node', step.lane === null ? '' : data.lanes[step.lane]);
    state.setAttribute('data-kind', step.kind);
    document.getElementById('step-text').textContent = seconds(time) + '  ' + step.text;
    var details = document.getElementById('step-details');
    details.textContent = '';
    step.details.forEach(function (line) { details.appendChild(element('li', '', line)); });
    document.getElementById('clock').textContent =
      't = ' + seconds(time) + ' · step ' + view.step + ' / ' + (steps.length - 1);
  }

  function bindControls() {
    document.getElementById('step-first').addEventListener('click', function () { setStep(0); });
    document.getElementById('step-back').addEventListener('click', function () { setStep(view.step - 1); });
    document.getElementById('step-forward').addEventListener('click', function () { setStep(view.step + 1); });
    document.getElementById('step-last').addEventListener('click', function () { setStep(steps.length - 1); });
    var slider = document.getElementById('time-slider');
    slider.max = String(data.sim_time_ms);
    slider.addEventListener('input', function () {
      view.draggingSlider = true;
      setStep(stepAt(Number(slider.value)));
      view.draggingSlider = false;
    });
    document.getElementById('zoom-in').addEventListener('click', function () { zoom(2); });
    document.getElementById('zoom-out').addEventListener('click', function () { zoom(0.5); });
    document.addEventListener('keydown', function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      var stride = event.shiftKey ? 10 : 1;
      var moves = {
        ArrowRight: function () { setStep(view.step + stride); },
        ArrowLeft: function () { setStep(view.step - stride); },
        Home: function () { setStep(0); },
        End: function () { setStep(steps.length - 1); }
      };
      if (moves[event.key]) {
        event.preventDefault();
        moves[event.key]();
      }
    });
  }

  // ---- the space-time diagram ----

  var canvas = document.getElementById('space-time-canvas');
  var scroller = document.getElementById('space-time-scroll');
  var drawPending = false;

  function diagramHeight() { return AXIS_HEIGHT + data.lanes.length * LANE_HEIGHT + 8; }
  function laneY(lane) { return AXIS_HEIGHT + lane * LANE_HEIGHT + LANE_HEIGHT / 2; }
  function xOf(timeMs) { return 12 + timeMs * view.pxPerMs - scroller.scrollLeft; }
  function totalWidth() { return 24 + data.sim_time_ms * view.pxPerMs; }

  function layoutDiagram() {
    var labels = document.getElementById('lane-labels');
    labels.textContent = '';
    labels.appendChild(element('div')).style.height = AXIS_HEIGHT + 'px';
    data.lanes.forEach(function (lane) {
      var label = labels.appendChild(element('div', '', lane));
      label.style.height = LANE_HEIGHT + 'px';
    });
    scroller.style.height = diagramHeight() + 18 + 'px';
    resizeCanvas();
  }

  function resizeCanvas() {
    var width = scroller.clientWidth;
    var ratio = window.devicePixelRatio || 1;
    canvas.style.width = width + 'px';
    canvas.style.height = diagramHeight() + 'px';
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(diagramHeight() * ratio);
    canvas.style.marginTop = '-1px';
    document.getElementById('space-time-spacer').style.width = totalWidth() + 'px';
    scheduleDraw();
  }

  function zoom(factor) {
    var cursorMs = stepTime(view.step);
    var cursorOffset = xOf(cursorMs);
    view.pxPerMs = Math.max(0.002, Math.min(64, view.pxPerMs * factor));
    document.getElementById('space-time-spacer').style.width = totalWidth() + 'px';
    scroller.scrollLeft = 12 + cursorMs * view.pxPerMs - cursorOffset;
    scheduleDraw();
  }

  // Keeps the current step in view when the step control moves it.
  function followInDiagram() {
    var x = xOf(stepTime(view.step));
    var width = scroller.clientWidth;
    if (x < 40 || x > width - 40) scroller.scrollLeft += x - width / 2;
  }

  function scheduleDraw() {
    if (drawPending) return;
    drawPending = true;
    window.requestAnimationFrame(function () { drawPending = false; draw(); });
  }

  function niceTickMs() {
    var target = 90 / view.pxPerMs;
    var tick = 1;
    while (tick * 10 <= target) tick *= 10;
    if (tick * 5 <= target) return tick * 5;
    if (tick * 2 <= target) return tick * 2;
    return tick;
  }

  function draw() {
    var context = canvas.getContext('2d');
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.width / ratio;
    var height = diagramHeight();
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    var startMs = Math.max(0, (scroller.scrollLeft - 12) / view.pxPerMs);
    var endVisibleMs = startMs + width / view.pxPerMs;
    var cursor = view.step;
    var cursorMs = stepTime(cursor);
    drawLanes(context, width);
    drawFaults(context, startMs, endVisibleMs);
    drawAxis(context, width, startMs, endVisibleMs);
    drawMarkers(context, height, startMs, endVisibleMs);
    drawMessages(context, startMs, endVisibleMs, cursor);
    drawSteps(context, startMs, endVisibleMs, cursor);
    var x = xOf(cursorMs);
    context.strokeStyle = '#2f5dd0';
    context.lineWidth = 1.5;
    context.beginPath(); context.moveTo(x, AXIS_HEIGHT - 6); context.lineTo(x, height); context.stroke();
  }

  function drawLanes(context, width) {
    data.lanes.forEach(function (_, lane) {
      context.fillStyle = lane % 2 ? '#fafbfc' : '#ffffff';
      context.fillRect(0, AXIS_HEIGHT + lane * LANE_HEIGHT, width, LANE_HEIGHT);
      context.strokeStyle = '#e3e6ec';
      context.lineWidth = 1;
      context.beginPath(); context.moveTo(0, laneY(lane)); context.lineTo(width, laneY(lane)); context.stroke();
    });
  }

  function drawFaults(context, startMs, endVisibleMs) {
    context.font = '10px system-ui, sans-serif';
    data.faults.forEach(function (fault) {
      if (fault.end_ms < startMs || fault.start_ms > endVisibleMs) return;
      var x = xOf(fault.start_ms);
      var w = Math.max(2, xOf(fault.end_ms) - x);
      var y = AXIS_HEIGHT + fault.lane * LANE_HEIGHT + 2;
      context.fillStyle = 'rgba(217, 45, 32, 0.14)';
      context.fillRect(x, y, w, LANE_HEIGHT - 4);
      context.fillStyle = 'rgba(217, 45, 32, 0.9)';
      context.fillRect(x, y, 2, LANE_HEIGHT - 4);
      context.fillText(fault.label, Math.max(x, 0) + 4, y + 9 + 9 * fault.labelRow);
    });
  }

  function drawAxis(context, width, startMs, endVisibleMs) {
    var tick = niceTickMs();
    context.fillStyle = '#6b7385';
    context.strokeStyle = '#c9ced8';
    context.font = '10px system-ui, sans-serif';
    for (var t = Math.floor(startMs / tick) * tick; t <= endVisibleMs; t += tick) {
      var x = xOf(t);
      context.beginPath(); context.moveTo(x, AXIS_HEIGHT - 8); context.lineTo(x, AXIS_HEIGHT); context.stroke();
      context.fillText(tick >= 1000 ? (t / 1000) + ' s' : t + ' ms', x + 2, 12);
    }
    data.violations.forEach(function (violation) {
      if (violation.time_ms < startMs || violation.time_ms > endVisibleMs) return;
      var x = xOf(violation.time_ms);
      context.fillStyle = '#d92d20';
      context.beginPath(); context.moveTo(x - 5, AXIS_HEIGHT - 10); context.lineTo(x + 5, AXIS_HEIGHT - 10);
      context.lineTo(x, AXIS_HEIGHT - 2); context.fill();
    });
    context.strokeStyle = '#c9ced8';
    context.beginPath(); context.moveTo(0, AXIS_HEIGHT); context.lineTo(width, AXIS_HEIGHT); context.stroke();
  }

  function drawMarkers(context, height, startMs, endVisibleMs) {
    context.setLineDash([4, 3]);
    context.lineWidth = 1;
    data.markers.forEach(function (marker) {
      if (marker.time_ms < startMs || marker.time_ms > endVisibleMs) return;
      var x = xOf(marker.time_ms);
      var top = marker.lane === null ? AXIS_HEIGHT : AXIS_HEIGHT + marker.lane * LANE_HEIGHT;
      var bottom = marker.lane === null ? height : top + LANE_HEIGHT;
      context.strokeStyle = '#7a5af8';
      context.beginPath(); context.moveTo(x, top); context.lineTo(x, bottom); context.stroke();
      context.fillStyle = '#7a5af8';
      context.fillText(marker.label, x + 3, bottom - 3 - 11 * marker.labelRow);
    });
    context.setLineDash([]);
  }

  function messageColour(message, cursor) {
    if (message.send_step > cursor) return '#d5d9e0';
    if (message.end_step === null || message.end_step > cursor) return '#e8890c';
    return message.outcome === 'dropped' ? '#d92d20' : '#5b7fc7';
  }

  function drawMessages(context, startMs, endVisibleMs, cursor) {
    var first = upperBound(messages, startMs - longestMessageMs - 1, function (m) { return m.send_ms; });
    for (var i = first; i < messages.length && messages[i].send_ms <= endVisibleMs; i++) {
      var message = messages[i];
      if (endMs(message) < startMs) continue;
      var x1 = xOf(message.send_ms), y1 = laneY(message.from_lane);
      var x2 = xOf(endMs(message)), y2 = laneY(message.to_lane);
      if (message.outcome === 'dropped') y2 = y1 + (y2 - y1) / 2;
      context.strokeStyle = messageColour(message, cursor);
      context.lineWidth = context.strokeStyle === '#e8890c' ? 2 : 1;
      context.beginPath(); context.moveTo(x1, y1); context.lineTo(x2, y2); context.stroke();
      if (message.outcome === 'dropped') {
        context.beginPath();
        context.moveTo(x2 - 4, y2 - 4); context.lineTo(x2 + 4, y2 + 4);
        context.moveTo(x2 + 4, y2 - 4); context.lineTo(x2 - 4, y2 + 4);
        context.stroke();
      } else if (message.outcome === 'delivered') {
        var angle = Math.atan2(y2 - y1, x2 - x1);
        context.beginPath();
        context.moveTo(x2, y2);
        context.lineTo(x2 - 6 * Math.cos(angle - 0.4), y2 - 6 * Math.sin(angle - 0.4));
        context.lineTo(x2 - 6 * Math.cos(angle + 0.4), y2 - 6 * Math.sin(angle + 0.4));
        context.closePath();
        context.fillStyle = context.strokeStyle;
        context.fill();
      }
    }
  }

  function drawSteps(context, startMs, endVisibleMs, cursor) {
    var first = upperBound(steps, startMs - 1, function (s) { return s.time_ms; });
    for (var i = first; i < steps.length && steps[i].time_ms <= endVisibleMs; i++) {
      var step = steps[i];
      if (step.lane === null || step.kind !== 'step') continue;
      context.fillStyle = i > cursor ? '#c3c8d2' : '#1d2330';
      context.beginPath(); context.arc(xOf(step.time_ms), laneY(step.lane), 2.2, 0, 2 * Math.PI); context.fill();
    }
    var current = steps[cursor];
    if (current && current.lane !== null) {
      context.strokeStyle = '#2f5dd0';
      context.lineWidth = 2;
      context.beginPath(); context.arc(xOf(current.time_ms), laneY(current.lane), 6, 0, 2 * Math.PI); context.stroke();
    }
  }

  // A click moves to the step nearest the pointer on its lane, or else to the time clicked.
  function bindDiagram() {
    scroller.addEventListener('scroll', scheduleDraw, { passive: true });
    window.addEventListener('resize', resizeCanvas);
    canvas.addEventListener('click', function (event) {
      var bounds = canvas.getBoundingClientRect();
      var x = event.clientX - bounds.left, y = event.clientY - bounds.top;
      var timeMs = Math.max(0, (x + scroller.scrollLeft - 12) / view.pxPerMs);
      var lane = Math.floor((y - AXIS_HEIGHT) / LANE_HEIGHT);
      var slackMs = 8 / view.pxPerMs;
      var best = -1, bestDistance = Infinity;
      var first = upperBound(steps, timeMs - slackMs - 1, function (s) { return s.time_ms; });
      for (var i = first; i < steps.length && steps[i].time_ms <= timeMs + slackMs; i++) {
        var distance = Math.abs(steps[i].time_ms - timeMs);
        if (steps[i].lane === lane && distance < bestDistance) { best = i; bestDistance = distance; }
      }
      setStep(best >= 0 ? best : stepAt(timeMs));
    });
  }

  // ---- the client history ----

  var historyScroll = document.getElementById('history-scroll');

  function operationStatus(op, timeMs) {
    if (op.invoke_ms > timeMs) return 'future';
    if (op.complete_ms === null || op.complete_ms > timeMs) return 'pending';
    return op.outcome;
  }
  var STATUS_TEXT = { future: '', pending: 'invoked', ok: 'ok', fail: 'fail', info: 'indefinite' };

  // Renders the rows in view; `follow` scrolls to the latest operation invoked by now.
  function renderHistory(follow) {
    var timeMs = stepTime(view.step);
    if (follow && operations.length) {
      var latest = Math.max(0, upperBound(operations, timeMs, function (op) { return op.invoke_ms; }) - 1);
      var top = latest * ROW_HEIGHT;
      if (top < historyScroll.scrollTop || top > historyScroll.scrollTop + historyScroll.clientHeight - ROW_HEIGHT) {
        historyScroll.scrollTop = top - historyScroll.clientHeight / 2;
      }
    }
    var rows = document.getElementById('history-rows');
    rows.textContent = '';
    var first = Math.max(0, Math.floor(historyScroll.scrollTop / ROW_HEIGHT) - 5);
    var last = Math.min(operations.length, first + Math.ceil(historyScroll.clientHeight / ROW_HEIGHT) + 10);
    for (var i = first; i < last; i++) rows.appendChild(operationRow(i, timeMs));
  }

  function operationRow(index, timeMs) {
    var op = operations[index];
    var status = operationStatus(op, timeMs);
    var row = element('div', 'operation' + (index === view.highlighted ? ' highlight' : ''));
    row.style.top = index * ROW_HEIGHT + 'px';
    row.setAttribute('data-index', String(index));
    row.setAttribute('data-status', status);
    row.appendChild(element('span', 'time', seconds(op.invoke_ms)));
    row.appendChild(element('span', 'client', op.client));
    row.appendChild(element('span', 'text', op.text));
    row.appendChild(element('span', 'status', STATUS_TEXT[status]));
    row.title = op.text + (op.complete_ms === null ? ' (never completed)' : ' (completed at ' + seconds(op.complete_ms) + ')');
    row.addEventListener('click', function () { showOperation(index); });
    return row;
  }

  // Moves to the operation's completion (its invocation if it never completed).
  function showOperation(index) {
    var op = operations[index];
    view.highlighted = index;
    var top = index * ROW_HEIGHT;
    historyScroll.scrollTop = top - historyScroll.clientHeight / 2;
    setStep(stepAt(op.complete_ms === null ? op.invoke_ms : op.complete_ms), { keepHistoryScroll: true });
  }

  function layoutHistory() {
    document.getElementById('history-spacer').style.height = operations.length * ROW_HEIGHT + 'px';
    document.getElementById('history-count').textContent = '(' + operations.length + ' operations)';
    historyScroll.addEventListener('scroll', function () { renderHistory(false); }, { passive: true });
  }

  // ---- the violations ----

  function layoutViolations() {
    var list = document.getElementById('violation-list');
    document.getElementById('violation-count').textContent = '(' + data.violations.length + ')';
    if (!data.violations.length) {
      list.appendChild(element('li', 'none', 'No checker found a violation.'));
      return;
    }
    data.violations.forEach(function (violation, index) {
      var item = list.appendChild(element('li'));
      item.setAttribute('data-index', String(index));
      var head = item.appendChild(element('div', 'violation-head'));
      head.appendChild(element('span', 'checker', violation.checker));
      head.appendChild(document.createTextNode(
        (violation.partition ? ' ' + violation.partition : '') + ' at ' + seconds(violation.time_ms) + ': ' +
        violation.description));
      head.addEventListener('click', function () { setStep(violation.step); });
      var links = item.appendChild(element('div', 'links'));
      if (violation.offsets.length || violation.values.length) {
        var focus = links.appendChild(element('button', 'focus-link', 'mark its records in the replicas\' logs'));
        focus.type = 'button';
        focus.setAttribute('data-index', String(index));
        focus.addEventListener('click', function () { focusViolation(index); });
      }
      violation.moments.forEach(function (moment) {
        var button = links.appendChild(element('button', 'moment', seconds(moment.time_ms) + ' ' + moment.text));
        button.type = 'button';
        button.setAttribute('data-step', String(moment.step));
        button.addEventListener('click', function () { setStep(moment.step); });
      });
      if (violation.moments_left_off) {
        links.appendChild(element('span', 'none', '… and ' + violation.moments_left_off + ' more'));
      }
      violation.operations.forEach(function (opIndex) {
        var op = operations[opIndex];
        var button = links.appendChild(element('button', 'operation-link', op.client + ': ' + op.text));
        button.type = 'button';
        button.addEventListener('click', function () { showOperation(opIndex); });
      });
    });
  }

  // Marks the records a violation names in every log strip and moves to its moment; the
  // same button again clears the marks.
  function focusViolation(index) {
    view.focus = view.focus === index ? -1 : index;
    var buttons = document.querySelectorAll('#violation-list button.focus-link');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].classList.toggle('current', Number(buttons[i].getAttribute('data-index')) === view.focus);
    }
    if (view.focus < 0) { renderReplicas(); return; }
    setStep(data.violations[index].step);
    document.getElementById('replicas').scrollIntoView();
  }

  // Whether `record` ([offset, epoch, value]) of partition `name` is one the focused
  // violation names: its offset on the violation's partition, or its value anywhere.
  function focused(name, record) {
    if (view.focus < 0) return false;
    var violation = data.violations[view.focus];
    return (violation.partition === name && violation.offsets.indexOf(record[0]) >= 0) ||
      violation.values.indexOf(record[2]) >= 0;
  }

  // A violation whose moment is not reached yet is dimmed; a link to the current step glows.
  function renderViolationStates() {
    var items = document.querySelectorAll('#violation-list li[data-index]');
    for (var i = 0; i < items.length; i++) {
      var violation = data.violations[Number(items[i].getAttribute('data-index'))];
      items[i].setAttribute('data-happened', String(view.step >= violation.step));
    }
    var buttons = document.querySelectorAll('#violation-list button.moment');
    for (var j = 0; j < buttons.length; j++) {
      buttons[j].classList.toggle('current', Number(buttons[j].getAttribute('data-step')) === view.step);
    }
  }

  // ---- the header ----

  function renderHeader() {
    var header = document.getElementById('run-header');
    var h = data.header;
    header.appendChild(element('h1', '', h.scenario + ' · seed ' + h.seed));
    if (h.summary) header.appendChild(element('p', '', h.summary));
    var verdict = header.appendChild(element('p'));
    verdict.appendChild(element('span', h.passed ? 'verdict-pass' : 'verdict-fail', h.verdict));
    verdict.appendChild(document.createTextNode(
      ' · ' + steps.length + ' steps, ' + messages.length + ' messages, ' + seconds(data.sim_time_ms) +
      ' simulated · trace hash '));
    verdict.appendChild(element('code', '', h.trace_hash));
    var replay = header.appendChild(element('p', '', 'replay: '));
    replay.appendChild(element('code', '', h.replay));
  }

  // ---- replica views: per partition a table, log strips and a role timeline ----

  var replicaViews = data.replicas || { partitions: [], frames: [], log_changes: [] };
  var STRIP_RECORDS = 24;
  var TIMELINE_ROW = 14;
  // Per partition, its frames in step order; per partition and broker, its log changes.
  var framesOf = replicaViews.partitions.map(function () { return []; });
  replicaViews.frames.forEach(function (frame) { framesOf[frame.partition].push(frame); });
  var logChangesOf = {};
  replicaViews.log_changes.forEach(function (change) {
    var key = change.partition + '/' + change.broker;
    (logChangesOf[key] = logChangesOf[key] || []).push(change);
  });

  // The last frame of `partition` at or before `step`, or null before its first.
  function frameAt(partition, step) {
    var frames = framesOf[partition];
    var index = upperBound(frames, step, function (frame) { return frame.step; }) - 1;
    return index < 0 ? null : frames[index];
  }

  // The log of `broker`'s replica of `partition` after `step`, replayed from its changes.
  function logAt(partition, broker, step) {
    var log = [];
    (logChangesOf[partition + '/' + broker] || []).some(function (change) {
      if (change.step > step) return true;
      if (change.cut_to !== null) {
        log = log.filter(function (record) { return record[0] < change.cut_to; });
      }
      change.appended.forEach(function (record) { log.push(record); });
      return false;
    });
    return log;
  }

  // `v21`, or `–` for a record without a workload value (sent as null: JSON numbers
  // past 2^53 would be rounded).
  function valueName(value) { return value === null ? '–' : 'v' + value; }

  function brokerList(brokers) { return brokers ? '{' + brokers.join(',') + '}' : '-'; }

  function renderReplicas() {
    var container = document.getElementById('replica-partitions');
    var state = document.getElementById('state');
    container.textContent = '';
    replicaViews.partitions.forEach(function (name, partition) {
      var frame = frameAt(partition, view.step);
      var block = container.appendChild(element('div', 'replica-partition'));
      block.setAttribute('data-partition', name);
      var heading = frame
        ? name + ' · controller: leader ' + (frame.controller_leader === null ? 'none' : 'b' + frame.controller_leader) +
          (frame.controller_epoch === null ? '' : ' e' + frame.controller_epoch) +
          ', ISR ' + brokerList(frame.controller_isr) + (frame.elr.length ? ', ELR ' + brokerList(frame.elr) : '')
        : name + ' · not started yet';
      block.appendChild(element('h3', '', heading));
      if (!frame) return;
      var table = block.appendChild(element('table', 'replica-table'));
      var head = table.appendChild(element('tr'));
      ['replica', 'role', 'LEO', 'HW', 'epoch', 'leader ISR', 'log (last records)'].forEach(function (title) {
        head.appendChild(element('th', '', title));
      });
      frame.rows.forEach(function (row) {
        var tr = table.appendChild(element('tr', 'role-' + row.role));
        tr.setAttribute('data-broker', String(row.broker));
        tr.appendChild(element('td', '', 'b' + row.broker));
        tr.appendChild(element('td', '', row.role));
        tr.appendChild(element('td', 'number', String(row.log_end_offset)));
        tr.appendChild(element('td', 'number', String(row.high_watermark)));
        tr.appendChild(element('td', '', row.leader_epoch === null ? '-' : 'e' + row.leader_epoch));
        tr.appendChild(element('td', '', row.leader_isr ? brokerList(row.leader_isr) : '-'));
        tr.appendChild(element('td', 'strip-cell')).appendChild(strip(partition, row));
        state.setAttribute('data-high-watermark-' + name + '-b' + row.broker, String(row.high_watermark));
        state.setAttribute('data-log-end-offset-' + name + '-b' + row.broker, String(row.log_end_offset));
        state.setAttribute('data-role-' + name + '-b' + row.broker, row.role);
      });
      var line = timelineOf(partition);
      block.appendChild(line);
      line.querySelectorAll('.now').forEach(function (now) {
        now.style.left = (100 * stepTime(view.step) / Math.max(1, data.sim_time_ms)) + '%';
      });
    });
  }

  // The timelines never change with the step (only their line does): built once.
  var timelines = {};
  function timelineOf(partition) {
    if (!timelines[partition]) timelines[partition] = timeline(partition);
    return timelines[partition];
  }

  // A replica's last records as boxes: filled below the high watermark, one colour per
  // leader epoch, the log end offset as an empty box after them.
  function strip(partition, row) {
    var node = element('div', 'log-strip');
    var name = replicaViews.partitions[partition];
    var log = logAt(partition, row.broker, view.step);
    if (row.truncations > 0) node.appendChild(element('span', 'cuts', '✂' + row.truncations));
    // The last records, or, when a violation is focused, a window from a little before the
    // first record it names.
    var end = log.length;
    var first = -1;
    for (var i = 0; i < log.length && view.focus >= 0; i++) {
      if (focused(name, log[i])) { first = i; break; }
    }
    if (first >= 0) end = Math.min(log.length, Math.max(first, 4) + STRIP_RECORDS - 4);
    var start = Math.max(0, end - STRIP_RECORDS);
    if (start > 0) node.appendChild(element('span', 'more', '… '));
    log.slice(start, end).forEach(function (record) {
      var box = node.appendChild(element('span', 'record epoch-' + (record[1] % 6), record[0] + ':' + valueName(record[2])));
      if (record[0] < row.high_watermark) box.classList.add('committed');
      if (focused(name, record)) box.classList.add('focus');
      box.title = 'offset ' + record[0] + ', leader epoch ' + record[1] + ', ' +
        (record[2] === null ? 'a transaction marker or a coordinator\'s record' : 'value ' + record[2]) +
        (record[0] < row.high_watermark ? ' (below the high watermark)' : ' (above the high watermark)');
    });
    if (end < log.length) node.appendChild(element('span', 'more', ' …'));
    node.appendChild(element('span', 'leo', 'LEO ' + row.log_end_offset));
    return node;
  }

  // Each broker's role over the whole run (leader dark, follower light, offline grey), a
  // thick bar while it is in the controller's ISR, and the current step as a line. Bars are
  // positioned in percent of the run's simulated time.
  function timeline(partition) {
    var frames = framesOf[partition];
    var brokers = [];
    frames.forEach(function (frame) {
      frame.rows.forEach(function (row) { if (brokers.indexOf(row.broker) < 0) brokers.push(row.broker); });
    });
    brokers.sort(function (a, b) { return a - b; });
    function percent(timeMs) { return (100 * timeMs / Math.max(1, data.sim_time_ms)) + '%'; }
    var node = element('div', 'replica-timeline');
    brokers.forEach(function (broker) {
      var line = node.appendChild(element('div', 'timeline-row'));
      line.appendChild(element('span', 'timeline-label', 'b' + broker));
      var track = line.appendChild(element('div', 'timeline-track'));
      // Consecutive frames with the same role and ISR membership make one bar.
      var open = null;
      function close(endMs) {
        if (open && endMs > open.start) {
          var bar = track.appendChild(element('span', 'bar role-' + open.role + (open.inIsr ? ' in-isr' : '')));
          bar.style.left = percent(open.start);
          bar.style.width = percent(endMs - open.start);
        }
        open = null;
      }
      frames.forEach(function (frame) {
        var row = frame.rows.filter(function (r) { return r.broker === broker; })[0];
        if (!row) return;
        var inIsr = frame.controller_isr.indexOf(broker) >= 0;
        if (open && open.role === row.role && open.inIsr === inIsr) return;
        close(stepTime(frame.step));
        open = { start: stepTime(frame.step), role: row.role, inIsr: inIsr };
      });
      close(data.sim_time_ms);
      track.appendChild(element('span', 'now'));
    });
    return node;
  }

  // A start step from the address (`run.html#step=120`), for links from notes and slides.
  function initialStep() {
    var match = /step=(\d+)/.exec(window.location.hash);
    return match ? Number(match[1]) : 0;
  }

  renderHeader();
  bindControls();
  layoutDiagram();
  view.pxPerMs = Math.max(scroller.clientWidth / Math.max(1, data.sim_time_ms),
    Math.min(2, 12 * scroller.clientWidth / Math.max(1, data.sim_time_ms)));
  resizeCanvas();
  bindDiagram();
  layoutHistory();
  layoutViolations();
  setStep(initialStep());
  document.body.setAttribute('data-ready', 'true');
}());
