// Stands in for src/realtime/react.jsx in the screenshot harness: no cable; the connection
// status is the fixture's.
export const useSyncMarkers = () => {}
export const useConnectionStatus = () => globalThis.__fixture.status ?? 'connected'
export const ConnectionStatus = () => null
export const PresenceList = () => null
