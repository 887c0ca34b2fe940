//! A real client: revm executing a block of transactions with our EIP-2537 engine at the
//! BLS12-381 precompile addresses (0x0b..0x11), checked against revm's own precompiles
//! (blst) on the same block.
//!
//! Two EVMs (mainnet, Osaka) run the same block on the same state: revm's stock one, and
//! one whose precompile provider sends 0x0b..0x11 to [`Router::precompile`] (MSMs routed
//! to the CPU or the GPU, the rest on the CPU), priced by [`eip2537::gas`]; every other
//! address stays revm's. The block calls G1MSM, G2MSM and PAIRING_CHECK with inputs from
//! the EIP's test vectors (`crates/eip2537/tests/vectors/`, read at run time): directly,
//! through a forwarding contract that STATICCALLs the precompile, on failing inputs and
//! one gas short. Each transaction's outcome (success, revert or halt, and the halt's
//! reason), output bytes, gas used and logs must be the same in both EVMs, and successful
//! outputs the vectors' expected ones. Then the block's precompile calls run again as one
//! [`Router::execute_block`] and must give the same results. Exits non-zero on any
//! mismatch.
//!
//! `cargo run -p hybrid-exec --example revm_precompiles` (without a GPU the router runs
//! everything on the CPU; `HYBRID_EXEC_BACKEND=gpu` sends every MSM to the GPU).

use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use eip2537::Precompile;
use hybrid_exec::{Router, RouterConfig};
use revm::context::result::{ExecutionResult, HaltReason};
use revm::context::{BlockEnv, Cfg, ContextTr, JournalTr, LocalContextTr, TxEnv};
use revm::database::InMemoryDB;
use revm::handler::{EthPrecompiles, MainnetContext, PrecompileProvider};
use revm::interpreter::{CallInputs, Gas, InstructionResult, InterpreterResult};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{address, hex, Address, Bytes, TxKind, U256};
use revm::state::{AccountInfo, Bytecode};
use revm::{ExecuteCommitEvm, MainBuilder};
use serde::Deserialize;

/// Sends the block's transactions.
const CALLER: Address = address!("0x00000000000000000000000000000000000ca11e");
/// The forwarding contract ([`FORWARDER_CODE`]).
const FORWARDER: Address = address!("0x000000000000000000000000000000000000f0f0");
/// Calldata: a 32-byte word holding the target address, then the input. STATICCALLs the
/// target with the input and all gas it may forward (63/64); returns its output on
/// success, reverts with no data on failure.
const FORWARDER_CODE: [u8; 42] = [
    0x36, 0x60, 0x20, 0x90, 0x03, //             len = CALLDATASIZE - 32
    0x80, 0x60, 0x20, 0x60, 0x00, 0x37, //       CALLDATACOPY(0, 32, len)
    0x60, 0x00, 0x60, 0x00, 0x82, 0x60, 0x00, // ret 0,0; args 0,len
    0x60, 0x00, 0x35, 0x5a, 0xfa, //             STATICCALL(GAS, CALLDATALOAD(0), ...)
    0x3d, 0x60, 0x00, 0x60, 0x00, 0x3e, //       RETURNDATACOPY(0, 0, RETURNDATASIZE)
    0x60, 0x25, 0x57, //                         JUMPI(0x25, success)
    0x60, 0x00, 0x60, 0x00, 0xfd, //             REVERT(0, 0)
    0x5b, 0x3d, 0x60, 0x00, 0xf3, //             0x25: RETURN(0, RETURNDATASIZE)
];
/// Each transaction's gas limit, but for the one sent a gas short.
const TX_GAS_LIMIT: u64 = 500_000;
const BASEFEE: u64 = 1_000_000_000;
const GAS_PRICE: u128 = 2_000_000_000;

/// The EIP-2537 precompiles by our engine, every other one by revm's
/// ([`EthPrecompiles`]); the set of addresses is revm's for the spec.
struct RouterPrecompiles<'r> {
    router: &'r Router,
    eth: EthPrecompiles,
    /// Every EIP-2537 call run, in order: what [`Router::execute_block`] is checked on.
    calls: Vec<Call>,
}

/// One EIP-2537 call the EVM made, with its result.
type Call = (Precompile, Vec<u8>, CallResult);
type CallResult = Result<Vec<u8>, eip2537::PrecompileError>;

impl<CTX: ContextTr> PrecompileProvider<CTX> for RouterPrecompiles<'_> {
    type Output = InterpreterResult;

    fn set_spec(&mut self, spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        PrecompileProvider::<CTX>::set_spec(&mut self.eth, spec)
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        let address = inputs.bytecode_address;
        // Ours only where the spec has them (Prague on).
        let Some(precompile) = Precompile::from_address_bytes(&address.into_array())
            .filter(|_| self.eth.contains(&address))
        else {
            return PrecompileProvider::<CTX>::run(&mut self.eth, context, inputs);
        };
        let input = inputs.input.bytes(context);
        // As revm's provider: the gas the call gets; on any error the interpreter takes all
        // of it.
        let mut result = InterpreterResult {
            result: InstructionResult::Return,
            gas: Gas::new(inputs.gas_limit),
            output: Bytes::new(),
        };
        // A price past u64 (GasOverflow) is more than any call has.
        let price = eip2537::gas(precompile, input.len()).unwrap_or(u64::MAX);
        if price > inputs.gas_limit {
            result.result = InstructionResult::PrecompileOOG;
            return Ok(Some(result));
        }
        let output = self.router.precompile(precompile, &input);
        match &output {
            Ok(bytes) => {
                let charged = result.gas.record_cost(price);
                debug_assert!(charged, "price checked against the limit");
                result.output = Bytes::copy_from_slice(bytes);
            }
            Err(e) => {
                result.result = InstructionResult::PrecompileError;
                // A top-level call's error message goes into the halt reason, as revm's.
                if context.journal().depth() == 1 {
                    context
                        .local_mut()
                        .set_precompile_error_context(e.to_string());
                }
            }
        }
        self.calls.push((precompile, input.to_vec(), output));
        Ok(Some(result))
    }

    fn warm_addresses(&self) -> Box<impl Iterator<Item = Address>> {
        self.eth.warm_addresses()
    }

    fn contains(&self, address: &Address) -> bool {
        self.eth.contains(address)
    }
}

/// One test vector (`tests/vectors/*.json` of eip2537).
#[derive(Deserialize)]
struct Vector {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Input")]
    input: String,
    #[serde(rename = "Expected")]
    expected: Option<String>,
}

/// How a transaction reaches the precompile.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Direct,
    Forwarder,
}

/// The outcome a transaction is meant to have (checked on revm's EVM, so that the block
/// exercises what it says).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Planned {
    Success,
    Revert,
    PrecompileError,
    OutOfGas,
}

struct BlockTx {
    precompile: Precompile,
    vector: Vector,
    via: Via,
    planned: Planned,
}

fn main() -> Result<()> {
    use Planned::*;
    use Precompile::{G1Msm, G2Msm, PairingCheck};
    use Via::*;

    let router = Router::new(&RouterConfig::from_env()?);
    println!("gpu: {}", router.gpu_status());

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eip2537/tests/vectors");
    let (g1, g2, pairing) = (
        "msm_G1_bls.json",
        "msm_G2_generated.json",
        "pairing_check_bls.json",
    );
    let plan = [
        (g1, "bls_g1msm_(2g1+2p1)", G1Msm, Direct, Success),
        (g1, "bls_g1msm_multiple", G1Msm, Direct, Success),
        (g2, "generated_g2msm_2", G2Msm, Direct, Success),
        (g2, "generated_g2msm_8", G2Msm, Direct, Success),
        (
            pairing,
            "bls_pairing_bilinearity_e(G1,G2)*e(P1,G2)*e(P1+G1,-G2)=1",
            PairingCheck,
            Direct,
            Success,
        ),
        (
            pairing,
            "bls_pairing_e(G1,G2)*e(0,0)*e(G1,G2)=0",
            PairingCheck,
            Direct,
            Success,
        ),
        (
            g1,
            "bls_g1msm_multiple_with_point_at_infinity",
            G1Msm,
            Forwarder,
            Success,
        ),
        (g2, "generated_g2msm_4", G2Msm, Forwarder, Success),
        (
            pairing,
            "bls_pairing_e(aG1,bG2)=e(abG1,G2)",
            PairingCheck,
            Forwarder,
            Success,
        ),
        (
            "fail-msm_G1_bls.json",
            "bls_g1msm_g1_not_in_correct_subgroup",
            G1Msm,
            Direct,
            PrecompileError,
        ),
        (
            "fail-pairing_check_bls.json",
            "bls_pairing_e(G1,G2_not_in_correct_subgroup)",
            PairingCheck,
            Forwarder,
            Revert,
        ),
        // Sent one gas short of the call's price.
        (g2, "generated_g2msm_3", G2Msm, Direct, OutOfGas),
    ];
    let block = plan
        .into_iter()
        .map(|(file, name, precompile, via, planned)| {
            Ok(BlockTx {
                precompile,
                vector: vector(&dir, file, name)?,
                via,
                planned,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let txs = block
        .iter()
        .enumerate()
        .map(|(nonce, tx)| tx_env(tx, nonce as u64))
        .collect::<Result<Vec<_>>>()?;

    let mut reference = context().build_mainnet();
    let theirs = reference
        .transact_many_commit(txs.iter().cloned())
        .map_err(|e| anyhow!("revm's EVM: {e}"))?;
    let mut evm = context()
        .build_mainnet()
        .with_precompiles(RouterPrecompiles {
            router: &router,
            eth: EthPrecompiles::new(SpecId::OSAKA),
            calls: Vec::new(),
        });
    let ours = evm
        .transact_many_commit(txs.iter().cloned())
        .map_err(|e| anyhow!("our EVM: {e}"))?;

    println!(
        "{:>2}  {:<19}  {:<10}  {:>5}  {:>9}  {:<24}  {:>8}  ours == revm's",
        "tx", "precompile", "via", "bytes", "call gas", "outcome", "tx gas"
    );
    let mut failures = Vec::new();
    for (i, ((tx, ours), theirs)) in block.iter().zip(&ours).zip(&theirs).enumerate() {
        let same = normalized(ours) == normalized(theirs);
        let input_len = input_bytes(&tx.vector)?.len();
        println!(
            "{i:>2}  {:<19}  {:<10}  {:>5}  {:>9}  {:<24}  {:>8}  {}",
            tx.precompile.name(),
            match tx.via {
                Direct => "direct",
                Forwarder => "STATICCALL",
            },
            input_len,
            eip2537::gas(tx.precompile, input_len)?,
            outcome(tx.precompile, ours),
            ours.gas_used(),
            if same { "yes" } else { "NO" },
        );
        if !same {
            failures.push(format!("tx {i}: ours {ours:?}\n       revm's {theirs:?}"));
        }
        if planned(theirs) != Some(tx.planned) {
            failures.push(format!(
                "tx {i}: planned {:?}, revm's EVM gave {theirs:?}",
                tx.planned
            ));
        }
        if let (Some(expected), ExecutionResult::Success { .. }) = (&tx.vector.expected, ours) {
            let expected = hex::decode(expected).context("vector's Expected")?;
            if ours.output().map(|o| &o[..]) != Some(&expected[..]) {
                failures.push(format!("tx {i}: output is not the vector's Expected"));
            }
        }
        if let (
            ExecutionResult::Halt {
                reason: HaltReason::PrecompileErrorWithContext(o),
                ..
            },
            ExecutionResult::Halt {
                reason: HaltReason::PrecompileErrorWithContext(t),
                ..
            },
        ) = (ours, theirs)
        {
            println!("    ours: {o}\n    revm's: {t}");
        }
    }

    // The block's EIP-2537 calls again, as one block of our engine: MSMs batched.
    let calls = std::mem::take(&mut evm.precompiles.calls);
    let batch: Vec<(Precompile, &[u8])> =
        calls.iter().map(|(p, input, _)| (*p, &input[..])).collect();
    let batched = router.execute_block(&batch);
    let same_batched = calls
        .iter()
        .zip(&batched)
        .all(|((_, _, single), b)| single == b);
    println!(
        "Router::execute_block on the block's {} EIP-2537 calls: {}",
        calls.len(),
        if same_batched {
            "the same results"
        } else {
            "DIFFERENT results"
        }
    );
    if !same_batched {
        failures.push("execute_block's results differ from the EVM's calls".into());
    }
    let stats = router.stats();
    println!(
        "router jobs: {} cpu, {} gpu, {} split, {} gpu fallback to cpu",
        stats.cpu_jobs, stats.gpu_jobs, stats.split_jobs, stats.fallback_jobs
    );

    if !failures.is_empty() {
        for f in &failures {
            eprintln!("mismatch: {f}");
        }
        bail!("{} mismatches", failures.len());
    }
    println!("all {} transactions: ours == revm's", block.len());
    Ok(())
}

/// The vector `name` of `dir/file`.
fn vector(dir: &Path, file: &str, name: &str) -> Result<Vector> {
    let path = dir.join(file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let vectors: Vec<Vector> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    vectors
        .into_iter()
        .find(|v| v.name == name)
        .ok_or_else(|| anyhow!("no vector {name} in {}", path.display()))
}

/// The block's state: the funded caller and the forwarding contract.
fn context() -> MainnetContext<InMemoryDB> {
    let mut db = InMemoryDB::default();
    db.insert_account_info(
        CALLER,
        AccountInfo::default().with_balance(U256::from(10u128.pow(21))),
    );
    db.insert_account_info(
        FORWARDER,
        AccountInfo::default().with_code(Bytecode::new_raw(Bytes::from_static(&FORWARDER_CODE))),
    );
    MainnetContext::new(db, SpecId::OSAKA).modify_block_chained(|block: &mut BlockEnv| {
        block.number = U256::from(1);
        block.timestamp = U256::from(1_770_000_000u64);
        block.gas_limit = 60_000_000;
        block.basefee = BASEFEE;
    })
}

fn input_bytes(v: &Vector) -> Result<Vec<u8>> {
    hex::decode(&v.input).with_context(|| format!("vector {}'s Input", v.name))
}

fn tx_env(tx: &BlockTx, nonce: u64) -> Result<TxEnv> {
    let input = input_bytes(&tx.vector)?;
    let (to, data, gas_limit) = match tx.via {
        Via::Direct => {
            let gas_limit = if tx.planned == Planned::OutOfGas {
                let price = eip2537::gas(tx.precompile, input.len())?;
                intrinsic_gas(&input) + price - 1
            } else {
                TX_GAS_LIMIT
            };
            (
                Address::from(tx.precompile.address_bytes()),
                input,
                gas_limit,
            )
        }
        Via::Forwarder => {
            let mut data = [0u8; 12].to_vec();
            data.extend_from_slice(&tx.precompile.address_bytes());
            data.extend_from_slice(&input);
            (FORWARDER, data, TX_GAS_LIMIT)
        }
    };
    TxEnv::builder()
        .caller(CALLER)
        .kind(TxKind::Call(to))
        .data(data.into())
        .gas_limit(gas_limit)
        .gas_price(GAS_PRICE)
        .nonce(nonce)
        .chain_id(Some(1))
        .build()
        .map_err(|e| anyhow!("tx {nonce}: {e:?}"))
}

/// A call's intrinsic gas: 21000 and 4 or 16 per zero or non-zero calldata byte (no
/// access list; EIP-7623's floor is below this plus the precompile's price here).
fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000
        + data
            .iter()
            .map(|&b| if b == 0 { 4 } else { 16 })
            .sum::<u64>()
}

/// The result with the halt's error message dropped (each engine words its own).
fn normalized(r: &ExecutionResult) -> ExecutionResult {
    r.clone().map_haltreason(|h| match h {
        HaltReason::PrecompileErrorWithContext(_) => HaltReason::PrecompileError,
        h => h,
    })
}

fn planned(r: &ExecutionResult) -> Option<Planned> {
    Some(match normalized(r) {
        ExecutionResult::Success { .. } => Planned::Success,
        ExecutionResult::Revert { .. } => Planned::Revert,
        ExecutionResult::Halt {
            reason: HaltReason::PrecompileError,
            ..
        } => Planned::PrecompileError,
        ExecutionResult::Halt {
            reason: HaltReason::OutOfGas(_),
            ..
        } => Planned::OutOfGas,
        ExecutionResult::Halt { .. } => return None,
    })
}

fn outcome(precompile: Precompile, r: &ExecutionResult) -> String {
    match r {
        ExecutionResult::Success { output, .. } if precompile == Precompile::PairingCheck => {
            let one = output.data().last() == Some(&1);
            format!("returned {}", if one { "true" } else { "false" })
        }
        ExecutionResult::Success { output, .. } => {
            format!("returned {} bytes", output.data().len())
        }
        ExecutionResult::Revert { output, .. } => format!("reverted ({} bytes)", output.len()),
        ExecutionResult::Halt { reason, .. } => match reason {
            HaltReason::PrecompileError | HaltReason::PrecompileErrorWithContext(_) => {
                "halted: precompile error".into()
            }
            HaltReason::OutOfGas(_) => "halted: out of gas".into(),
            other => format!("halted: {other:?}"),
        },
    }
}
