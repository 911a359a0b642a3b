// Passkey ceremonies in the browser: registering on /auth/passkeys, signing in on /auth/passkeys/sign-in.
// WebAuthn's JSON encoding (base64url fields) is used both ways, as the server expects it.
;(() => {
  const status = document.getElementById('passkey-status')
  const say = (text, isError) => {
    if (!status) return
    status.hidden = false
    status.textContent = text
    status.className = isError ? 'error' : 'notice'
  }

  const toBytes = (value) => {
    const base64 = value.replace(/-/g, '+').replace(/_/g, '/')
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4))
    return Uint8Array.from(binary, (c) => c.charCodeAt(0))
  }
  const toText = (buffer) => {
    if (!buffer) return undefined
    let binary = ''
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte)
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  }

  const creationOptions = (json) =>
    PublicKeyCredential.parseCreationOptionsFromJSON
      ? PublicKeyCredential.parseCreationOptionsFromJSON(json)
      : {
          ...json,
          challenge: toBytes(json.challenge),
          user: { ...json.user, id: toBytes(json.user.id) },
          excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
        }

  const credentialJson = (credential) => {
    if (typeof credential.toJSON === 'function') return credential.toJSON()
    const r = credential.response
    const response = { clientDataJSON: toText(r.clientDataJSON) }
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject)
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : []
    } else {
      response.authenticatorData = toText(r.authenticatorData)
      response.signature = toText(r.signature)
      response.userHandle = toText(r.userHandle)
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response,
      clientExtensionResults: credential.getClientExtensionResults(),
    }
  }

  const why = (error) =>
    error && error.name === 'NotAllowedError'
      ? 'No passkey was used (the request was cancelled or timed out).'
      : error && error.name === 'InvalidStateError'
        ? 'This authenticator holds a passkey for your account already.'
        : `The browser refused: ${error?.message || error}`

  const json = async (response) => {
    const body = await response.json().catch(() => ({}))
    if (!response.ok) throw new Error(body.message || `HTTP ${response.status}`)
    return body
  }
  const send = (method, url, body) =>
    fetch(url, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body || {}),
      credentials: 'same-origin',
    }).then(json)

  // Managing: register, remove.
  const register = document.getElementById('passkey-register')
  if (register) {
    register.addEventListener('submit', async (event) => {
      event.preventDefault()
      const button = register.querySelector('button')
      button.disabled = true
      try {
        if (!window.PublicKeyCredential) throw new Error('This browser does not support passkeys.')
        say('Your browser asks you to create a passkey…')
        const options = await send('POST', '/auth/passkeys/options')
        let credential
        try {
          credential = await navigator.credentials.create({ publicKey: creationOptions(options) })
        } catch (error) {
          throw new Error(why(error))
        }
        const name = register.elements.name.value
        await send('POST', '/auth/passkeys', { name, credential: credentialJson(credential) })
        const back = register.dataset.returnTo
        location.assign(`/auth/passkeys?added=1${back ? `&returnTo=${encodeURIComponent(back)}` : ''}`)
      } catch (error) {
        say(error.message, true)
        button.disabled = false
      }
    })
  }
  for (const button of document.querySelectorAll('[data-remove]')) {
    button.addEventListener('click', async () => {
      if (!confirm(`Remove the passkey "${button.dataset.name}"? It can no longer sign you in.`)) return
      button.disabled = true
      try {
        await send('DELETE', `/auth/passkeys/${encodeURIComponent(button.dataset.remove)}`)
        location.assign('/auth/passkeys?removed=1')
      } catch (error) {
        say(error.message, true)
        button.disabled = false
      }
    })
  }

  // Signing in: the browser's passkey prompt at once; autofill on the username field where the browser offers it.
  const form = document.getElementById('passkey-sign-in')
  if (form) {
    const start = document.getElementById('passkey-start')
    const requestOptions = () => ({
      challenge: toBytes(form.dataset.challenge),
      rpId: form.dataset.rpId,
      timeout: Number(form.dataset.timeout),
      userVerification: 'required',
      allowCredentials: [],
    })
    let pending
    const finish = (credential) => {
      form.elements.credential.value = JSON.stringify(credentialJson(credential))
      say('Signing you in…')
      form.submit()
    }
    const ask = async (mediation) => {
      pending?.abort()
      const controller = new AbortController()
      pending = controller
      const credential = await navigator.credentials.get({
        publicKey: requestOptions(),
        signal: controller.signal,
        ...(mediation ? { mediation } : {}),
      })
      if (credential) finish(credential)
    }
    const autofill = async () => {
      if (!PublicKeyCredential.isConditionalMediationAvailable) return
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return
      ask('conditional').catch(() => undefined)
    }
    const prompt = () =>
      ask(undefined).catch((error) => {
        if (error && error.name === 'AbortError') return
        say(`${why(error)} Choose "Use a passkey" to try again.`, true)
        autofill()
      })
    if (!window.PublicKeyCredential) {
      say('This browser does not support passkeys. Please sign in another way.', true)
      start.disabled = true
    } else {
      start.addEventListener('click', prompt)
      prompt()
    }
  }
})()
