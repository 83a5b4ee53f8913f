// The console's one script, served as a file so that its CSP needs no
// 'unsafe-inline'.
// Preview of a chosen badge image before upload (no build step: plain DOM).
for (const input of document.querySelectorAll('.image-input')) {
  input.addEventListener('change', () => {
    const img = input.closest('form').querySelector('.preview');
    const file = input.files[0];
    if (file) { img.src = URL.createObjectURL(file); img.hidden = false; }
  });
}
