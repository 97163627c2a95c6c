from monitor.cli import main

if __name__ == "__main__":  # guarded: worker processes re-import this module
    main()
