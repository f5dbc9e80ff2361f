// Every admin action is confirmed on the page before it is sent. `useConfirmedPost()` gives
// `ask({ question, detail, confirmLabel, danger, url, data })`, which opens a small
// confirmation panel at the bottom of the screen (Cancel has the focus; Escape cancels); its
// Confirm button sends the POST (Inertia's router: the XSRF header as every form,
// `preserveScroll`). `sending` is true while the request is in flight: pages disable their
// action buttons with it. The server answers with a redirect and a flash message.
import { router } from '@inertiajs/react'
import { useCallback, useEffect, useRef, useState } from 'react'

export function ConfirmPanel({ request, sending, onConfirm, onCancel }) {
  const cancelRef = useRef(null)
  useEffect(() => {
    if (request) cancelRef.current?.focus()
  }, [request])
  if (!request) return null
  const onKeyDown = (event) => {
    if (event.key === 'Escape') onCancel()
  }
  return (
    <div
      className="confirm"
      role="alertdialog"
      aria-labelledby="confirm-question"
      aria-describedby={request.detail ? 'confirm-detail' : undefined}
      data-testid="confirm"
      onKeyDown={onKeyDown}
    >
      <p id="confirm-question" className="confirm-question">
        {request.question}
      </p>
      {request.detail && (
        <p id="confirm-detail" className="hint">
          {request.detail}
        </p>
      )}
      <div className="confirm-buttons">
        <button type="button" className="button secondary" ref={cancelRef} onClick={onCancel} disabled={sending}>
          Cancel
        </button>
        <button
          type="button"
          className={request.danger ? 'button danger-button' : 'button'}
          data-testid="confirm-button"
          onClick={onConfirm}
          disabled={sending}
        >
          {sending ? 'Working…' : (request.confirmLabel ?? 'Confirm')}
        </button>
      </div>
    </div>
  )
}

export function useConfirmedPost() {
  const [request, setRequest] = useState(null)
  const [sending, setSending] = useState(false)
  // The button that asked, to give the focus back when the panel closes.
  const opener = useRef(null)
  const close = useCallback(() => {
    setRequest(null)
    const el = opener.current
    opener.current = null
    if (el && el.isConnected) el.focus()
  }, [])
  const ask = useCallback((next) => {
    if (typeof document !== 'undefined') opener.current = document.activeElement
    setRequest(next)
  }, [])
  const cancel = useCallback(() => {
    if (!sending) close()
  }, [sending, close])
  const confirm = useCallback(() => {
    if (!request || sending) return
    router.post(request.url, request.data ?? {}, {
      preserveScroll: true,
      onStart: () => setSending(true),
      onFinish: () => {
        setSending(false)
        close()
      },
    })
  }, [request, sending, close])
  const panel = <ConfirmPanel request={request} sending={sending} onConfirm={confirm} onCancel={cancel} />
  return { ask, sending, panel, request }
}
