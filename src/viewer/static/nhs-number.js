// NHS number box: formats as typed (3 3 4) and says at once when the Modulus 11 check digit is wrong.
// The server checks again; this only helps the person typing.
const WEIGHTS = [10, 9, 8, 7, 6, 5, 4, 3, 2];

export function isValidNhsNumber(digits) {
  if (!/^\d{10}$/.test(digits) || /^(\d)\1{9}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(digits[i]) * WEIGHTS[i];
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  return check !== 10 && check === Number(digits[9]);
}

export function formatNhsNumber(raw) {
  const d = raw.replace(/\D/g, '').slice(0, 10);
  return [d.slice(0, 3), d.slice(3, 6), d.slice(6)].filter((p) => p !== '').join(' ');
}

for (const input of document.querySelectorAll('input[data-nhs-number]')) {
  const hint = document.createElement('span');
  hint.className = 'nhsuk-error-message';
  hint.id = `${input.id}-check`;
  hint.setAttribute('aria-live', 'polite');
  input.insertAdjacentElement('beforebegin', hint);
  input.addEventListener('input', () => {
    const before = input.value;
    const formatted = formatNhsNumber(before);
    if (formatted !== before) input.value = formatted;
    const digits = formatted.replace(/\D/g, '');
    hint.textContent =
      digits.length === 10 && !isValidNhsNumber(digits) ? 'This is not a valid NHS number: check the digits' : '';
  });
}
