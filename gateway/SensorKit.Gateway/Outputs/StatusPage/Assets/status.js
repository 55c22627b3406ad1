// SensorKit status page: live updates and "use my location". The page is complete without this file.
'use strict';
(function () {
  var bar = document.querySelector('[data-live-bar]');
  var region = document.getElementById('live');
  if (bar && region && 'EventSource' in window && window.fetch && window.DOMParser) {
    var button = bar.querySelector('button');
    var status = bar.querySelector('[data-live-status]');
    var source = null, paused = false, pending = false, busy = false;

    var summary = function (root) {
      var s = root.querySelector('[data-summary]');
      return s ? s.textContent : '';
    };

    var apply = function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      // Keep open tables open: the new content has the same sections in the same order.
      var open = Array.prototype.map.call(region.querySelectorAll('details'), function (d) { return d.open; });
      var before = summary(region);
      // Copy the list first: adopting a node takes it out of the live childNodes list.
      region.replaceChildren.apply(region, Array.prototype.slice.call(doc.body.childNodes).map(function (n) { return document.adoptNode(n); }));
      Array.prototype.forEach.call(region.querySelectorAll('details'), function (d, i) { d.open = !!open[i]; });
      var after = summary(region);
      // Polite, short, and only this line: the region itself is not live, so nothing is read twice. Only a change
      // of the summary is announced; new values every window would keep a screen reader talking.
      if (after && after !== before) { status.textContent = after; }
      region.classList.remove('fresh');
      region.classList.add('fresh');
    };

    var refresh = function () {
      if (paused) { return; }
      // Never pull content away from the keyboard: while focus is inside, wait until it leaves.
      if (busy || region.contains(document.activeElement)) { pending = true; return; }
      busy = true;
      fetch(region.dataset.live, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error('HTTP ' + r.status)); })
        .then(apply, function () { pending = true; })
        .then(function () {
          busy = false;
          if (pending && !region.contains(document.activeElement)) { pending = false; refresh(); }
        });
    };

    region.addEventListener('focusout', function (e) {
      if (pending && !(e.relatedTarget && region.contains(e.relatedTarget))) { pending = false; refresh(); }
    });

    var start = function () {
      source = new EventSource('/status/events');
      source.addEventListener('alerts', refresh);
      source.addEventListener('telemetry', refresh);
    };

    button.addEventListener('click', function () {
      paused = !paused;
      button.setAttribute('aria-pressed', String(paused));
      if (paused) {
        if (source) { source.close(); source = null; }
        status.textContent = bar.dataset.paused;
      } else {
        start();
        status.textContent = bar.dataset.on;
        refresh();
      }
    });

    bar.hidden = false;
    start();
  }

  var geo = document.querySelector('[data-geolocate]');
  var hint = document.querySelector('[data-geolocate-hint]');
  if (geo && hint && navigator.geolocation) {
    geo.hidden = false;
    hint.hidden = false;
    hint.setAttribute('aria-live', 'polite');
    geo.addEventListener('click', function () {
      // The browser asks for consent; the position only fills the form.
      navigator.geolocation.getCurrentPosition(function (p) {
        geo.form.elements.lat.value = p.coords.latitude.toFixed(4);
        geo.form.elements.lon.value = p.coords.longitude.toFixed(4);
        geo.form.elements.q.value = '';
        geo.form.submit();
      }, function () {
        hint.textContent = geo.dataset.failed;
      }, { maximumAge: 600000, timeout: 15000 });
    });
  }
})();
