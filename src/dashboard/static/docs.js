/**
 * Swagger UI on /openapi.json. The token (the dashboard's, from this tab's sessionStorage, or
 * asked for here) is sent with the document request and with every "Try it out" call.
 */
const TOKEN_KEY = 'chaos-handler.token';

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

async function fetchSpec(token) {
  return fetch('/openapi.json', { headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

function askToken() {
  const form = document.getElementById('docs-token');
  const input = document.getElementById('docs-token-input');
  form.hidden = false;
  input.focus();
  return new Promise((resolve) => {
    form.addEventListener(
      'submit',
      (event) => {
        event.preventDefault();
        form.hidden = true;
        resolve(input.value.trim());
      },
      { once: true },
    );
  });
}

async function main() {
  let token = storedToken();
  let res = await fetchSpec(token);
  while (res.status === 401) {
    token = await askToken();
    res = await fetchSpec(token);
    if (res.ok) {
      try {
        sessionStorage.setItem(TOKEN_KEY, token);
      } catch {
        // in memory only
      }
    }
  }
  const spec = await res.json();
  // SwaggerUIBundle is the global the classic bundle script defines.
  window.ui = window.SwaggerUIBundle({
    spec,
    dom_id: '#swagger-ui',
    deepLinking: true,
    tryItOutEnabled: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    requestInterceptor: (request) => {
      if (token && !request.headers.Authorization) request.headers.Authorization = `Bearer ${token}`;
      return request;
    },
  });
}

void main();
