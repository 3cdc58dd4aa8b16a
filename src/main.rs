//! The `pinvr` binary: sets up logging and dispatches to a subcommand in `pinvr::cmds`.

use pinvr::cmds::{self, args::Args};

fn main() {
    pinvr::logging::init();
    pinvr::alloc::tune();
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        eprint!("{}", cmds::USAGE);
        std::process::exit(2);
    }
    let command = argv.remove(0);
    let result = match command.as_str() {
        "run" => cmds::run::run(Args::new("run", argv)),
        "init" => cmds::init::run(Args::new("init", argv)),
        "check-config" => cmds::check_config::run(Args::new("check-config", argv)),
        "remux" => cmds::remux::run(Args::new("remux", argv)),
        "mp4-to-chunk" => cmds::mp4_to_chunk::run(Args::new("mp4-to-chunk", argv)),
        "help" | "--help" | "-h" => {
            print!("{}", cmds::USAGE);
            Ok(())
        }
        other => {
            eprint!("pinvr: unknown command {other:?}\n\n{}", cmds::USAGE);
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("pinvr {command}: {e}");
        std::process::exit(1);
    }
}
