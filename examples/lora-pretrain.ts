// Pretrains the LoRA study's base encoder (masked-language modelling on the templated corpus) from
// a seed and writes data/lora-base/encoder.json. `--check` retrains with the file's recipe and
// verifies the weights bit for bit (same Node/V8: Math.exp/tanh may differ in the last bit across
// libms, so another platform reproduces them to rounding, not to the bit).
import { relative } from 'node:path';
import { Command } from 'commander';
import { Vocab } from '../src/host-loop/data/qa/vocab.ts';
import { positiveInt, positiveNumber, runIfMain } from './lib/cli.ts';
import { BASE_FILE, DEFAULT_RECIPE, encoderConfig, loadBase, pretrainBase, saveBase, weightsDigest } from './lib/lora-base.ts';

export async function main(argv: string[]): Promise<{ sha256: string; seconds: number }> {
  const cmd = new Command()
    .name('examples/lora-pretrain')
    .description('MLM pretraining of the LoRA study base encoder on the templated corpus')
    .option('--seed <n>', 'initialisation and data seed', positiveInt('--seed'), DEFAULT_RECIPE.seed)
    .option('--steps <n>', 'Adam steps', positiveInt('--steps'), DEFAULT_RECIPE.steps)
    .option('--batch <b>', 'sequences per step', positiveInt('--batch', 4096), DEFAULT_RECIPE.batch)
    .option('--lr <η>', 'Adam learning rate', positiveNumber('--lr'), DEFAULT_RECIPE.lr)
    .option('--out <file>', 'weights file', BASE_FILE)
    .option('--check', "retrain with the file's recipe and compare the weights' SHA-256", false)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{ seed: number; steps: number; batch: number; lr: number; out: string; check: boolean }>();
  if (o.check) {
    const { file } = loadBase(o.out);
    const r = await pretrainBase(file.recipe, { log: console.log });
    const sha = weightsDigest(r.base);
    if (sha !== file.sha256) throw new Error(`retrained weights differ: ${sha} ≠ ${file.sha256} in ${o.out}`);
    console.log(`[lora-pretrain] ${relative(process.cwd(), o.out)} reproduced bit for bit (${sha}) in ${r.seconds.toFixed(1)} s`);
    return { sha256: sha, seconds: r.seconds };
  }
  const recipe = { seed: o.seed, steps: o.steps, batch: o.batch, lr: o.lr };
  const r = await pretrainBase(recipe, { log: console.log });
  const vocab = new Vocab();
  const command = `npm run example:lora-pretrain --${argv.length ? ' ' + argv.join(' ') : ''}`;
  saveBase(o.out, { config: encoderConfig(vocab), vocab: [...vocab.words], recipe, command, history: r.history, pretrainSeconds: r.seconds }, r.base);
  console.log(`[lora-pretrain] wrote ${relative(process.cwd(), o.out)} (${r.base.length} weights) in ${r.seconds.toFixed(1)} s`);
  return { sha256: weightsDigest(r.base), seconds: r.seconds };
}

runIfMain(import.meta.url, main);
