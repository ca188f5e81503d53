"""The web console: static pages served at `/` (`site`) and the browser's cookie sign-in
(`session`). The pages call the public API like any other client."""
