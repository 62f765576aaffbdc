/**
 * Python's datetime.strftime for the directives chat templates use (Llama 3.1+ writes "%d %b %Y", others "%Y-%m-%d"
 * or "%B %d, %Y"), with the C locale's English names as transformers' strftime_now gives them. Our own rather than
 * the Jinja library's, which formats month names with the machine's locale and would make prompts differ between
 * machines. Unknown directives are left as written.
 */

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Formats the local time of `date`, as Python's datetime.now().strftime(format) does. */
export function strftime(date: Date, format: string): string {
  return format.replace(/%-?([a-zA-Z%])/g, (whole, directive: string) => {
    // "%-d" (no padding) is a glibc extension that Python on Linux and some templates use.
    const unpadded = whole.length === 3;
    const num = (n: number, width = 2) => (unpadded ? String(n) : pad(n, width));
    const hour12 = date.getHours() % 12 === 0 ? 12 : date.getHours() % 12;
    switch (directive) {
      case 'Y':
        return String(date.getFullYear());
      case 'y':
        return num(date.getFullYear() % 100);
      case 'm':
        return num(date.getMonth() + 1);
      case 'd':
        return num(date.getDate());
      case 'e':
        return String(date.getDate()).padStart(2, ' ');
      case 'j':
        return num(dayOfYear(date), 3);
      case 'H':
        return num(date.getHours());
      case 'I':
        return num(hour12);
      case 'M':
        return num(date.getMinutes());
      case 'S':
        return num(date.getSeconds());
      case 'p':
        return date.getHours() < 12 ? 'AM' : 'PM';
      case 'B':
        return MONTHS[date.getMonth()];
      case 'b':
        return MONTHS[date.getMonth()].slice(0, 3);
      case 'A':
        return DAYS[date.getDay()];
      case 'a':
        return DAYS[date.getDay()].slice(0, 3);
      case '%':
        return '%';
      default:
        return whole;
    }
  });
}

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  const today = new Date(date.getFullYear(), date.getMonth(), date.getDate());
  return Math.round((today.getTime() - start.getTime()) / 86_400_000) + 1;
}
