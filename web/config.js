// Optional defaults for the chat page. The local stack serves its own version of this file with its
// API URL filled in. When you host web/ yourself you may set, never with an API key or a secret
// (anyone who can load the page can read this file):
//   apiUrl:   the stack's apiUrl output; a URL saved in Settings wins, and an ?api= on another origin
//             is used only once the person accepts it (with its own key or sign-in)
//   authMode: "none" | "apiKey" | "iam" | "cognito" (the stack's authMode output)
//   cognito:  cognito mode only, the stack's pageCognitoConfig output:
//             { domain: "https://<prefix>.auth.<region>.amazoncognito.com", clientId: "...", scopes: ["openid", "email"] }
window.AGENTCORE_STREAMING_CONFIG = window.AGENTCORE_STREAMING_CONFIG || { apiUrl: "" };
