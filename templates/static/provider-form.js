// The provider form checks itself as it is filled in: the same request as the
// Check button (the server validates with the provider schema), answered as
// JSON, its errors shown at their fields. Without this script the form works
// the same, checked when it is submitted.
;(() => {
  const form = document.querySelector('form.provider-form')
  if (!form || !window.fetch) return
  const status = document.getElementById('live-status')
  let timer
  let sequence = 0
  // Errors show at the fields already filled in; the count below the form covers them all.
  const touched = new Set(
    [...form.querySelectorAll('[data-field-key]')]
      .filter((f) => f.querySelector('input, select, textarea')?.value)
      .map((f) => f.dataset.fieldKey),
  )
  const clear = () => {
    // The errors of the last check, live or from the server's page, make way for the new ones.
    for (const p of form.querySelectorAll('[data-live-error], [data-error-for]')) p.remove()
    for (const f of form.querySelectorAll('.has-error')) f.classList.remove('has-error')
    document.getElementById('form-errors')?.remove()
    for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute('aria-invalid')
  }
  const show = (issues) => {
    clear()
    for (const issue of issues) {
      const top = issue.key.split('.')[0]
      const field =
        form.querySelector(`[data-field-key="${CSS.escape(top)}"]`) || form.querySelector('[data-field-key="other"]')
      if (!field || !touched.has(field.dataset.fieldKey)) continue
      field.classList.add('has-error')
      const p = document.createElement('p')
      p.className = 'error field-error'
      p.dataset.liveError = top
      p.textContent = field.dataset.fieldKey === top ? issue.reason : `${issue.key}: ${issue.reason}`
      const hint = field.querySelector('.hint')
      field.insertBefore(p, hint)
      const control = field.querySelector('input:not([type=hidden]), select, textarea')
      if (control) control.setAttribute('aria-invalid', 'true')
    }
  }
  const check = async () => {
    const mine = ++sequence
    const body = new URLSearchParams(new FormData(form))
    body.set('action', 'check')
    try {
      // Not form.action: the buttons named "action" shadow that property.
      const response = await fetch(form.getAttribute('action'), {
        method: 'POST',
        body,
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
      })
      if (mine !== sequence || !response.ok) return
      const answer = await response.json()
      show(answer.issues)
      if (status)
        status.textContent =
          answer.issues.length === 0
            ? 'The file is valid.'
            : `${answer.issues.length} ${answer.issues.length === 1 ? 'problem' : 'problems'} to fix.`
    } catch {
      // Offline or refused: the Check button still works.
    }
  }
  const touch = (event) => {
    const key = event.target.closest?.('[data-field-key]')?.dataset.fieldKey
    if (key) touched.add(key)
  }
  form.addEventListener('input', (event) => {
    touch(event)
    clearTimeout(timer)
    timer = setTimeout(check, 350)
  })
  form.addEventListener('change', (event) => {
    touch(event)
    clearTimeout(timer)
    timer = setTimeout(check, 50)
  })
})()
