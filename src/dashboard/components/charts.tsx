import { ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale, Tooltip } from 'chart.js';
import { Bar, Doughnut } from 'react-chartjs-2';

// Chart.js through react-chartjs-2: canvas charts, tree-shaken to the three kinds the overview draws.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend, DoughnutController, ArcElement);

const PALETTE = ['#4f46e5', '#0891b2', '#059669', '#d97706', '#dc2626', '#7c3aed', '#db2777', '#65a30d', '#0284c7', '#475569'];

interface Series {
  labels: string[];
  values: number[];
  /** What the chart shows, for screen readers (the canvas itself is opaque to them). */
  label: string;
}

export function BarChart({ labels, values, label, horizontal = false }: Series & { horizontal?: boolean }) {
  return (
    <div className="relative h-64">
      <Bar
        aria-label={label}
        role="img"
        data={{ labels, datasets: [{ label, data: values, backgroundColor: PALETTE[0], borderRadius: 3 }] }}
        options={{
          indexAxis: horizontal ? 'y' : 'x',
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: false } },
          scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 8 } }, y: { beginAtZero: true } },
        }}
      />
    </div>
  );
}

export function DoughnutChart({ labels, values, label }: Series) {
  return (
    <div className="relative h-64">
      <Doughnut
        aria-label={label}
        role="img"
        data={{ labels, datasets: [{ label, data: values, backgroundColor: labels.map((_, index) => PALETTE[index % PALETTE.length]) }] }}
        options={{ maintainAspectRatio: false, animation: false, plugins: { legend: { position: 'right' } } }}
      />
    </div>
  );
}
