// Empty: CRibbonABI only declares types (see include/RibbonABI.h).
