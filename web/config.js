// Optional defaults for the chat page. The local stack serves its own version of this file with its
// API URL filled in. When you host web/ yourself you may set apiUrl here (never an API key: anyone
// who can load the page can read this file). A URL given as ?api= or saved in Settings wins.
window.AGENTCORE_STREAMING_CONFIG = window.AGENTCORE_STREAMING_CONFIG || { apiUrl: "" };
