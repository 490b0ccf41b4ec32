/*
 * Gatehouse device agent. Keeps one ECDSA P-256 key per app and user in this browser profile's
 * IndexedDB, created non-extractable: scripts can sign with it but never read it. On first use the
 * agent registers the public key; afterwards it signs fresh single-use challenges from the server.
 * When the app's "webauthn" setting asks for it ("preferred": where the browser has a user-verifying
 * platform authenticator; "required": always), the device key is a WebAuthn credential of the platform
 * authenticator instead, and IndexedDB keeps only its id.
 * No dependencies, no third-party requests: it talks only to the Gatehouse origin it was loaded from.
 *
 *   GatehouseAgent.authenticate({ request })  -> { deviceId, newDevice, redirectUrl }
 *   GatehouseAgent.prove({ sessionId })       -> { nonce, signature }  (WebCrypto) or { webauthn }  (WebAuthn),
 *                                                the proof of POST .../sessions/{id}/validate
 */
(function (global) {
  'use strict';

  var script = global.document && global.document.currentScript;
  // The agent talks to the folder it was loaded from: Gatehouse's own /device, or the same path
  // behind an app's first-party proxy (its own /gatehouse/device/agent.js, say).
  var base = script && script.src ? script.src.replace(/\/agent\.js(?:[?#].*)?$/, '') : global.location.origin + '/device';
  var DB_NAME = 'gatehouse-device';
  var STORE = 'keys';
  var ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' };
  var SIGNING = { name: 'ECDSA', hash: 'SHA-256' };

  function openDb() {
    return new Promise(function (resolve, reject) {
      var open = global.indexedDB.open(DB_NAME, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(STORE); };
      open.onsuccess = function () { resolve(open.result); };
      open.onerror = function () { reject(open.error); };
    });
  }

  function withStore(mode, action) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var request = action(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(request ? request.result : undefined); };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function loadKey(slot) { return withStore('readonly', function (store) { return store.get(slot); }); }
  function saveKey(slot, value) { return withStore('readwrite', function (store) { return store.put(value, slot); }); }

  function fromBase64Url(text) {
    var binary = global.atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function base64Url(buffer) {
    var bytes = new Uint8Array(buffer);
    var text = '';
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return global.btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function sign(privateKey, message) {
    return global.crypto.subtle.sign(SIGNING, privateKey, new TextEncoder().encode(message)).then(base64Url);
  }

  function post(path, body) {
    return global.fetch(base + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit', cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.message || ('HTTP ' + response.status));
          error.code = data.error; error.status = response.status; error.data = data;
          throw error;
        }
        return data;
      });
    });
  }

  function register(request) {
    return post('/challenge', { request: request }).then(function (challenge) {
      return global.crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify']).then(function (keys) {
        return global.crypto.subtle.exportKey('jwk', keys.publicKey).then(function (jwk) {
          return sign(keys.privateKey, 'gatehouse-device-auth:' + request + ':' + challenge.nonce).then(function (signature) {
            return post('/register', { request: request, nonce: challenge.nonce, publicKeyJwk: jwk, signature: signature });
          }).then(function (result) {
            return saveKey(challenge.keySlot, { privateKey: keys.privateKey, publicKey: keys.publicKey, deviceId: result.deviceId }).then(function () { return result; });
          });
        });
      });
    });
  }

  /** Whether this browser has a user-verifying platform authenticator (Windows Hello, Touch ID, an Android screen lock). */
  function platformAuthenticator() {
    var credential = global.PublicKeyCredential;
    if (!credential || typeof credential.isUserVerifyingPlatformAuthenticatorAvailable !== 'function' || !global.navigator.credentials) {
      return Promise.resolve(false);
    }
    return credential.isUserVerifyingPlatformAuthenticatorAvailable().catch(function () { return false; });
  }

  function credentialJson(credential, response) {
    return { id: credential.id, rawId: base64Url(credential.rawId), type: credential.type, response: response, clientExtensionResults: {} };
  }

  function assertionJson(credential) {
    var r = credential.response;
    return credentialJson(credential, {
      authenticatorData: base64Url(r.authenticatorData), clientDataJSON: base64Url(r.clientDataJSON), signature: base64Url(r.signature),
      userHandle: r.userHandle && r.userHandle.byteLength ? base64Url(r.userHandle) : null
    });
  }

  /** navigator.credentials.get with the server's options (binary members arrive in base64url). */
  function getAssertion(options) {
    return global.navigator.credentials.get({
      publicKey: {
        challenge: fromBase64Url(options.challenge), timeout: options.timeout, rpId: options.rpId, userVerification: options.userVerification,
        allowCredentials: (options.allowCredentials || []).map(function (c) { return { type: c.type, id: fromBase64Url(c.id) }; })
      }
    });
  }

  function registerWebAuthn(request) {
    return post('/webauthn/register-options', { request: request }).then(function (answer) {
      var o = answer.options;
      return global.navigator.credentials.create({
        publicKey: {
          rp: { id: o.rp.id, name: o.rp.name }, challenge: fromBase64Url(o.challenge), timeout: o.timeout, attestation: o.attestation,
          user: { id: fromBase64Url(o.user.id), name: o.user.name, displayName: o.user.displayName },
          pubKeyCredParams: o.pubKeyCredParams, authenticatorSelection: o.authenticatorSelection,
          excludeCredentials: (o.excludeCredentials || []).map(function (c) { return { type: c.type, id: fromBase64Url(c.id) }; })
        }
      }).then(function (credential) {
        var r = credential.response;
        var attestation = credentialJson(credential, {
          attestationObject: base64Url(r.attestationObject), clientDataJSON: base64Url(r.clientDataJSON),
          transports: typeof r.getTransports === 'function' ? r.getTransports() : []
        });
        return post('/webauthn/register', { request: request, attestation: attestation }).then(function (result) {
          return saveKey(answer.keySlot, { type: 'webauthn', credentialId: credential.id, deviceId: result.deviceId }).then(function () { return result; });
        });
      });
    });
  }

  function assertWebAuthn(request, stored) {
    return post('/webauthn/assert-options', { request: request, deviceId: stored.deviceId }).then(function (answer) {
      return getAssertion(answer.options).then(function (credential) {
        return post('/webauthn/assert', { request: request, deviceId: stored.deviceId, assertion: assertionJson(credential) });
      });
    });
  }

  function webAuthnMissing() {
    var error = new Error('This app needs a device with a built-in authenticator (Windows Hello, Touch ID or an Android screen lock), and this browser offers none.');
    error.code = 'webauthn_unavailable';
    return error;
  }

  /** Proves this browser to the server for one auth request: signs with the stored key, or registers a new one. */
  function authenticate(options) {
    var request = options && options.request;
    if (!request) { return Promise.reject(new Error('authenticate needs { request } from the auth URL')); }
    return post('/challenge', { request: request }).then(function (challenge) {
      return Promise.all([loadKey(challenge.keySlot), challenge.webauthn && challenge.webauthn !== 'off' ? platformAuthenticator() : false]).then(function (found) {
        var stored = found[0];
        var mode = challenge.webauthn || 'off';
        var webauthn = found[1];
        var registerNew = function () {
          if (mode === 'required' && !webauthn) { throw webAuthnMissing(); }
          return webauthn ? registerWebAuthn(request) : register(request);
        };
        if (stored && stored.type === 'webauthn' && stored.deviceId && mode !== 'off') {
          return assertWebAuthn(request, stored).catch(function (error) {
            // The server no longer knows the credential (its records were reset, or it belongs to another site): register anew.
            if (error.code === 'unknown_device') { return registerNew(); }
            throw error;
          });
        }
        // "required" accepts no WebCrypto key, even one this browser registered before.
        if (!stored || !stored.deviceId || stored.type === 'webauthn' || mode === 'required') { return registerNew(); }
        return sign(stored.privateKey, 'gatehouse-device-auth:' + request + ':' + challenge.nonce).then(function (signature) {
          return post('/prove', { request: request, nonce: challenge.nonce, deviceId: stored.deviceId, signature: signature });
        }).catch(function (error) {
          // The server no longer knows the key (its records were reset): register it anew.
          if (error.code === 'unknown_device') { return register(request); }
          throw error;
        });
      });
    });
  }

  /** A proof for a device-bound session: the app's page sends it to its backend, which calls validate. */
  function prove(options) {
    var sessionId = options && options.sessionId;
    return post('/challenge', { sessionId: sessionId }).then(function (challenge) {
      return loadKey(challenge.keySlot).then(function (stored) {
        if (!stored) { throw new Error('This browser holds no device key for the session.'); }
        if (stored.type === 'webauthn') {
          return post('/webauthn/assert-options', { sessionId: sessionId }).then(function (answer) {
            return getAssertion(answer.options);
          }).then(function (credential) { return { webauthn: assertionJson(credential) }; });
        }
        return sign(stored.privateKey, 'gatehouse-session:' + sessionId + ':' + challenge.nonce).then(function (signature) {
          return { nonce: challenge.nonce, signature: signature };
        });
      });
    });
  }

  global.GatehouseAgent = { authenticate: authenticate, prove: prove, baseUrl: base };

  // On the hosted page: run at once, then go back to the app.
  if (script && script.hasAttribute('data-hosted-page')) {
    var panel = global.document.getElementById('gatehouse-device');
    var show = function (title, detail) {
      panel.setAttribute('data-state', 'error');
      global.document.getElementById('gatehouse-device-title').textContent = title;
      global.document.getElementById('gatehouse-device-detail').textContent = detail;
    };
    var request = new URLSearchParams(global.location.search).get('request');
    authenticate({ request: request }).then(function (result) {
      panel.setAttribute('data-state', 'done');
      global.location.replace(result.redirectUrl);
    }).catch(function (error) {
      if (error.data && error.data.redirectUrl) { global.location.replace(error.data.redirectUrl); return; }
      show('This device could not be verified', error.message || 'Start again from the app.');
    });
  }
})(window);
